/**
 * An SQS-compatible HTTP endpoint over the local queues (the AWS JSON 1.0 protocol of
 * @aws-sdk/client-sqs, for the calls the pipeline makes), so a handler's real SQS client can send
 * to its own queue.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalQueue, MAX_DELAY_SECONDS, MAX_MESSAGE_BYTES, type SentMessage } from './queue.ts';
import { LOCAL_ACCOUNT_ID } from './s3.ts';

/** SQS: at most 10 entries per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;

export interface SqsEndpointOptions {
  queues: readonly LocalQueue[];
  port?: number;
  host?: string;
}

export interface SqsEndpoint {
  url: string;
  queueUrl(name: string): string;
  close(): Promise<void>;
}

class SqsApiError extends Error {
  readonly type: string;
  readonly queryCode: string;
  readonly status: number;

  constructor(type: string, message: string, options: { queryCode?: string; status?: number } = {}) {
    super(message);
    this.name = 'SqsApiError';
    this.type = type;
    this.queryCode = options.queryCode ?? type;
    this.status = options.status ?? 400;
  }
}

interface SendEntry {
  MessageBody?: unknown;
  DelaySeconds?: unknown;
}

export async function startSqsEndpoint(options: SqsEndpointOptions): Promise<SqsEndpoint> {
  const queues = new Map(options.queues.map((queue) => [queue.name, queue]));
  let url = '';
  const queueUrl = (name: string) => `${url}/${LOCAL_ACCOUNT_ID}/${name}`;

  function queueFor(input: { QueueUrl?: unknown }): LocalQueue {
    const name = typeof input.QueueUrl === 'string' ? input.QueueUrl.split('/').pop() : undefined;
    const queue = name === undefined ? undefined : queues.get(name);
    if (!queue) {
      throw new SqsApiError('QueueDoesNotExist', 'The specified queue does not exist.', {
        queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
      });
    }
    return queue;
  }

  const operations: Operations = {
    GetQueueUrl(input) {
      const name = typeof input.QueueName === 'string' ? input.QueueName : '';
      return { QueueUrl: queueUrl(queueFor({ QueueUrl: name }).name) };
    },
    SendMessage(input) {
      const queue = queueFor(input);
      const sent = sendEntry(queue, input);
      return { MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfMessageBody };
    },
    SendMessageBatch: (input) => sendMessageBatch(queueFor(input), input),
  };

  const server = createServer((request, response) => void handle(operations, request, response));
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  url = `http://${address.address}:${address.port}`;

  return {
    url,
    queueUrl,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

type Operations = Record<string, (input: Record<string, unknown>) => unknown>;

/** One call: the operation named by `X-Amz-Target`, answered in JSON, or SQS's error envelope. */
async function handle(
  operations: Operations,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  try {
    const target = String(request.headers['x-amz-target'] ?? '');
    const operation = target.startsWith('AmazonSQS.')
      ? operations[target.slice('AmazonSQS.'.length)]
      : undefined;
    if (request.method !== 'POST' || !operation) {
      throw new SqsApiError(
        'UnsupportedOperation',
        `The local SQS does not support ${target || request.method}.`,
      );
    }
    const input = parseJson(await readBody(request));
    reply(response, 200, operation(input));
  } catch (error) {
    const failure =
      error instanceof SqsApiError
        ? error
        : new SqsApiError('InternalError', error instanceof Error ? error.message : String(error), {
            status: 500,
          });
    response.setHeader(
      'x-amzn-query-error',
      `${failure.queryCode};${failure.status < 500 ? 'Sender' : 'Receiver'}`,
    );
    reply(response, failure.status, {
      __type: `com.amazonaws.sqs#${failure.type}`,
      message: failure.message,
    });
  }
}

/** SendMessageBatch: the batch checked as a whole, then each entry sent or listed as failed. */
function sendMessageBatch(queue: LocalQueue, input: Record<string, unknown>) {
  const entries = Array.isArray(input.Entries) ? (input.Entries as Array<SendEntry & { Id?: unknown }>) : [];
  if (entries.length === 0) throw new SqsApiError('EmptyBatchRequest', 'There should be at least one entry.');
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsApiError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request is ${MAX_BATCH_ENTRIES}.`,
    );
  }
  const ids = entries.map((entry) => entry.Id);
  if (new Set(ids).size !== ids.length) {
    throw new SqsApiError('BatchEntryIdsNotDistinct', 'Two or more batch entries have the same Id.');
  }
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const entry of entries) {
    const id = String(entry.Id ?? '');
    try {
      const sent = sendEntry(queue, entry);
      Successful.push({ Id: id, MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfMessageBody });
    } catch (error) {
      if (!(error instanceof SqsApiError)) throw error;
      Failed.push({ Id: id, SenderFault: true, Code: error.queryCode, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function sendEntry(queue: LocalQueue, entry: SendEntry): SentMessage {
  const body = entry.MessageBody;
  if (typeof body !== 'string' || body.length === 0) {
    throw new SqsApiError('MissingParameter', 'The request must contain the parameter MessageBody.');
  }
  if (Buffer.byteLength(body, 'utf8') > MAX_MESSAGE_BYTES) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `The message body must be at most ${MAX_MESSAGE_BYTES} bytes long.`,
    );
  }
  // SQS: only #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF.
  if (/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body)) {
    throw new SqsApiError('InvalidMessageContents', 'Invalid characters found in the message body.');
  }
  const delay = entry.DelaySeconds ?? 0;
  if (typeof delay !== 'number' || !Number.isInteger(delay) || delay < 0 || delay > MAX_DELAY_SECONDS) {
    throw new SqsApiError(
      'InvalidParameterValue',
      `Value ${String(delay)} for parameter DelaySeconds is invalid. Reason: must be between 0 and ${MAX_DELAY_SECONDS}.`,
    );
  }
  return queue.send(body, { delayMs: delay * 1000 });
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new SqsApiError('InvalidParameterValue', 'The request body is not a JSON object.');
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
  });
  response.end(text);
}
