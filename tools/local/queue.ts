/**
 * SQS and the Lambda SQS event source, on this machine: a queue with delays, visibility timeouts,
 * receive counts and a dead-letter list; a poller that hands batches to a handler the way Lambda
 * does (batch size, batching window, maximum concurrency, partial batch responses); and an
 * SQS-compatible HTTP endpoint so a handler's real SQS client can send to its own queue.
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './s3.ts';

/** SQS: DelaySeconds is at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;
/** SQS: a message body is at most 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
/** SQS: at most 10 entries per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;
const SENDER_ID = 'AIDALOCALSQSSENDER0000';

export interface SentMessage {
  messageId: string;
  md5OfMessageBody: string;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  receiveCount: number;
  sentTimestamp: number;
  firstReceiveTimestamp: number;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  /** Why the last receive failed, as the poller saw it. */
  lastError: string | undefined;
  deadLetteredAt: number;
}

export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
  deadLetters: number;
}

export interface LocalQueueOptions {
  name: string;
  /** How long a received message stays hidden before it can be received again. Default 30 s (SQS's default). */
  visibilityTimeoutMs?: number;
  /** Receives after which a message moves to the dead-letter list; default: never (no redrive policy). */
  maxReceiveCount?: number;
}

export interface LocalQueue {
  readonly name: string;
  readonly arn: string;
  send(body: string, options?: { delayMs?: number }): SentMessage;
  /** Up to `max` visible messages, now hidden for the visibility timeout. */
  receive(max: number): ReceivedMessage[];
  /** Deletes the message last received with this handle; a stale handle deletes nothing, as in SQS. */
  delete(receiptHandle: string): boolean;
  /** Notes why a receive failed; the message comes back when its visibility timeout runs out. */
  recordFailure(receiptHandle: string, reason: string): void;
  counts(): QueueCounts;
  readonly deadLetters: readonly DeadLetter[];
  /** Calls `listener` when messages may have become visible; returns an unsubscribe. */
  onAvailable(listener: () => void): () => void;
  onDeadLetter(listener: (deadLetter: DeadLetter) => void): () => void;
  close(): void;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentTimestamp: number;
  firstReceiveTimestamp: number | undefined;
  receiveCount: number;
  visibleAt: number;
  /** Set while received: the handle of the latest receive. */
  receiptHandle: string | undefined;
  lastError: string | undefined;
}

export function createLocalQueue(options: LocalQueueOptions): LocalQueue {
  const { name, maxReceiveCount } = options;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
  const messages = new Map<string, StoredMessage>();
  const deadLetters: DeadLetter[] = [];
  const availableListeners = new Set<() => void>();
  const deadLetterListeners = new Set<(deadLetter: DeadLetter) => void>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let closed = false;

  function notifyAvailable(): void {
    for (const listener of availableListeners) listener();
  }

  /** Wakes the listeners when the next hidden message becomes visible. */
  function scheduleWakeUp(): void {
    if (closed) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of messages.values())
      if (message.visibleAt > now) next = Math.min(next, message.visibleAt);
    if (next === timerAt) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        scheduleWakeUp();
        notifyAvailable();
      },
      Math.max(next - now, 0),
    );
    timer.unref();
  }

  function moveToDeadLetters(message: StoredMessage, now: number): void {
    messages.delete(message.messageId);
    const deadLetter: DeadLetter = {
      messageId: message.messageId,
      body: message.body,
      receiveCount: message.receiveCount,
      lastError: message.lastError,
      deadLetteredAt: now,
    };
    deadLetters.push(deadLetter);
    for (const listener of deadLetterListeners) listener(deadLetter);
  }

  return {
    name,
    arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`,
    deadLetters,

    send(body, sendOptions = {}) {
      const now = Date.now();
      const message: StoredMessage = {
        messageId: randomUUID(),
        body,
        md5OfBody: md5(body),
        sentTimestamp: now,
        firstReceiveTimestamp: undefined,
        receiveCount: 0,
        visibleAt: now + (sendOptions.delayMs ?? 0),
        receiptHandle: undefined,
        lastError: undefined,
      };
      messages.set(message.messageId, message);
      if (message.visibleAt > now) scheduleWakeUp();
      else queueMicrotask(notifyAvailable);
      return { messageId: message.messageId, md5OfMessageBody: message.md5OfBody };
    },

    receive(max) {
      const now = Date.now();
      const received: ReceivedMessage[] = [];
      for (const message of messages.values()) {
        if (received.length >= max) break;
        if (message.visibleAt > now) continue;
        // SQS redrives when a receive would exceed maxReceiveCount.
        if (maxReceiveCount !== undefined && message.receiveCount >= maxReceiveCount) {
          moveToDeadLetters(message, now);
          continue;
        }
        message.receiveCount += 1;
        message.firstReceiveTimestamp ??= now;
        message.receiptHandle = randomUUID();
        message.visibleAt = now + visibilityTimeoutMs;
        received.push({
          messageId: message.messageId,
          receiptHandle: message.receiptHandle,
          body: message.body,
          md5OfBody: message.md5OfBody,
          receiveCount: message.receiveCount,
          sentTimestamp: message.sentTimestamp,
          firstReceiveTimestamp: message.firstReceiveTimestamp,
        });
      }
      scheduleWakeUp();
      return received;
    },

    delete(receiptHandle) {
      for (const message of messages.values()) {
        if (message.receiptHandle === receiptHandle) {
          messages.delete(message.messageId);
          scheduleWakeUp();
          return true;
        }
      }
      return false;
    },

    recordFailure(receiptHandle, reason) {
      for (const message of messages.values()) {
        if (message.receiptHandle === receiptHandle) message.lastError = reason;
      }
    },

    counts() {
      const now = Date.now();
      const counts: QueueCounts = { visible: 0, inFlight: 0, delayed: 0, deadLetters: deadLetters.length };
      for (const message of messages.values()) {
        if (message.visibleAt <= now) counts.visible += 1;
        else if (message.receiptHandle === undefined) counts.delayed += 1;
        else counts.inFlight += 1;
      }
      return counts;
    },

    onAvailable(listener) {
      availableListeners.add(listener);
      return () => availableListeners.delete(listener);
    },

    onDeadLetter(listener) {
      deadLetterListeners.add(listener);
      return () => deadLetterListeners.delete(listener);
    },

    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      availableListeners.clear();
      deadLetterListeners.clear();
    },
  };
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------
// The event source: Lambda's SQS poller.

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface Invocation {
  functionName: string;
  awsRequestId: string;
  records: SQSRecord[];
  durationMs: number;
  /** Message ids that will be received again (listed in batchItemFailures, or the whole batch). */
  failedMessageIds: string[];
  /** Set when the invocation failed as a whole: thrown, timed out, or an invalid batch response. */
  error: Error | undefined;
  response: SQSBatchResponse | undefined;
}

export interface EventSourceOptions {
  queue: LocalQueue;
  handler: SqsHandler;
  functionName: string;
  /** Default 10. */
  batchSize?: number;
  /** How long to gather a batch once a first message is visible; default 0 (invoke at once). */
  batchWindowMs?: number;
  /** At most this many invocations at once; default 2 (the smallest Lambda allows). */
  maxConcurrency?: number;
  /** The function's timeout; default 60 s. */
  timeoutMs?: number;
  memoryLimitInMB?: number;
}

export interface EventSource {
  /** Calls `listener` after each invocation; returns an unsubscribe. */
  onInvocation(listener: (invocation: Invocation) => void): () => void;
  /** Resolves when no invocation runs and no message is visible (delayed or hidden ones may remain), or once stopped. */
  idle(): Promise<void>;
  /** Stops polling and waits for the invocations under way. */
  stop(): Promise<void>;
}

export function startEventSource(options: EventSourceOptions): EventSource {
  const { queue, handler, functionName } = options;
  const batchSize = options.batchSize ?? 10;
  const batchWindowMs = options.batchWindowMs ?? 0;
  const maxConcurrency = options.maxConcurrency ?? 2;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const memoryLimitInMB = options.memoryLimitInMB ?? 1024;
  const invocationListeners = new Set<(invocation: Invocation) => void>();
  const running = new Set<Promise<void>>();
  let idleWaiters: Array<() => void> = [];
  let windowTimer: NodeJS.Timeout | undefined;
  let windowOpen = false;
  let pumpScheduled = false;
  let stopped = false;

  const unsubscribe = queue.onAvailable(schedulePump);
  schedulePump();

  function schedulePump(): void {
    if (pumpScheduled || stopped) return;
    pumpScheduled = true;
    // One tick later, so messages sent together are received together.
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    while (!stopped && running.size < maxConcurrency) {
      const visible = queue.counts().visible;
      if (visible === 0) break;
      if (visible < batchSize && batchWindowMs > 0 && !windowOpen) {
        windowTimer ??= setTimeout(() => {
          windowOpen = true;
          pump();
        }, batchWindowMs);
        return;
      }
      if (windowTimer) clearTimeout(windowTimer);
      windowTimer = undefined;
      windowOpen = false;
      const batch = queue.receive(batchSize);
      if (batch.length === 0) continue;
      const invocation = invoke(batch).finally(() => {
        running.delete(invocation);
        pump();
      });
      running.add(invocation);
    }
    if (running.size === 0 && queue.counts().visible === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async function invoke(batch: ReceivedMessage[]): Promise<void> {
    const records = batch.map((message) => toSqsRecord(message, queue.arn));
    const context = createLambdaContext({ functionName, timeoutMs, memoryLimitInMB });
    const startedAt = Date.now();
    let response: SQSBatchResponse | undefined;
    let error: Error | undefined;
    let failedMessageIds: string[] = [];

    try {
      const answer = await withTimeout(handler({ Records: records }, context), timeoutMs);
      response = answer ?? undefined;
      failedMessageIds = failedItems(response, records);
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
      failedMessageIds = records.map((record) => record.messageId);
    }

    const failed = new Set(failedMessageIds);
    for (const message of batch) {
      if (failed.has(message.messageId)) {
        queue.recordFailure(message.receiptHandle, error?.message ?? 'Reported in batchItemFailures');
      } else {
        queue.delete(message.receiptHandle);
      }
    }
    const report: Invocation = {
      functionName,
      awsRequestId: context.awsRequestId,
      records,
      durationMs: Date.now() - startedAt,
      failedMessageIds,
      error,
      response,
    };
    for (const listener of invocationListeners) listener(report);
  }

  return {
    onInvocation(listener) {
      invocationListeners.add(listener);
      return () => invocationListeners.delete(listener);
    },
    idle() {
      // A stopped source receives nothing more: waiting for the queue to drain would never end.
      if (stopped) return Promise.resolve();
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        schedulePump();
      });
    },
    async stop() {
      stopped = true;
      unsubscribe();
      if (windowTimer) clearTimeout(windowTimer);
      await Promise.allSettled([...running]);
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    },
  };
}

/**
 * The ids to retry, as Lambda reads a partial batch response: an item that names no message of
 * the batch makes the whole batch fail.
 */
function failedItems(response: SQSBatchResponse | undefined, records: SQSRecord[]): string[] {
  const items = response?.batchItemFailures;
  if (!items || items.length === 0) return [];
  const ids = new Set(records.map((record) => record.messageId));
  for (const item of items) {
    if (typeof item?.itemIdentifier !== 'string' || !ids.has(item.itemIdentifier)) {
      throw new Error(`Invalid batchItemFailures: ${JSON.stringify(item)} names no message of the batch`);
    }
  }
  return items.map((item) => item.itemIdentifier);
}

/** Lambda ends a run at its timeout; here the promise keeps going, but its result no longer counts. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function toSqsRecord(message: ReceivedMessage, queueArn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    },
    messageAttributes: {},
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

export function createLambdaContext(options: {
  functionName: string;
  timeoutMs: number;
  memoryLimitInMB?: number;
}): Context {
  const { functionName, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = () => {
    throw new Error('The callback-style Context methods are not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

// ---------------------------------------------------------------------------------------------
// The SQS endpoint: the AWS JSON 1.0 protocol of @aws-sdk/client-sqs, for the calls the pipeline makes.

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

  const operations: Record<string, (input: Record<string, unknown>) => unknown> = {
    GetQueueUrl(input) {
      const name = typeof input.QueueName === 'string' ? input.QueueName : '';
      return { QueueUrl: queueUrl(queueFor({ QueueUrl: name }).name) };
    },
    SendMessage(input) {
      const queue = queueFor(input);
      const sent = sendEntry(queue, input);
      return { MessageId: sent.messageId, MD5OfMessageBody: sent.md5OfMessageBody };
    },
    SendMessageBatch(input) {
      const queue = queueFor(input);
      const entries = Array.isArray(input.Entries)
        ? (input.Entries as Array<SendEntry & { Id?: unknown }>)
        : [];
      if (entries.length === 0)
        throw new SqsApiError('EmptyBatchRequest', 'There should be at least one entry.');
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
    },
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
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

  const server = createServer((request, response) => void handle(request, response));
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
