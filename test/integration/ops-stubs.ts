/**
 * Small local stand-ins for what the operator commands talk to and nothing on this machine
 * speaks: Secrets Manager, SQS's message move tasks, and CloudFormation's DescribeStacks. Each speaks the real wire protocol
 * (JSON over HTTP, `X-Amz-Target`), for the few calls the commands make.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Reply {
  status: number;
  body: unknown;
  contentType?: string;
}

async function listen(
  handle: (request: IncomingMessage, body: string) => Reply,
): Promise<{ url: string; server: Server }> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = handle(request, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(reply.status, { 'content-type': reply.contentType ?? 'application/json' });
      response.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}

async function close(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

// ---------------------------------------------------------------------------------------------

export interface SecretsManagerStub {
  url: string;
  /** Creates an empty secret, as the stack does; returns its ARN. */
  createSecret(name: string): string;
  /** The current SecretString of a secret, by name or ARN. */
  current(secretId: string): string | undefined;
  close(): Promise<void>;
}

interface StoredSecret {
  arn: string;
  name: string;
  versions: Array<{ versionId: string; secretString: string }>;
}

/** Secrets Manager's JSON 1.1 protocol for DescribeSecret and PutSecretValue. */
export async function startSecretsManagerStub(): Promise<SecretsManagerStub> {
  const secrets: StoredSecret[] = [];
  const find = (id: unknown) => secrets.find((secret) => secret.name === id || secret.arn === id);
  const notFound: Reply = {
    status: 400,
    body: {
      __type: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    },
  };

  const { url, server } = await listen((request, body) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const input = JSON.parse(body || '{}') as {
      SecretId?: unknown;
      SecretString?: unknown;
      ClientRequestToken?: unknown;
    };
    const secret = find(input.SecretId);
    const reply = (status: number, value: unknown): Reply => ({
      status,
      body: value,
      contentType: 'application/x-amz-json-1.1',
    });
    if (target === 'secretsmanager.DescribeSecret') {
      return secret ? reply(200, { ARN: secret.arn, Name: secret.name }) : notFound;
    }
    if (target === 'secretsmanager.PutSecretValue') {
      if (!secret) return notFound;
      if (typeof input.SecretString !== 'string') {
        return reply(400, { __type: 'InvalidParameterException', message: 'SecretString is required.' });
      }
      const versionId =
        typeof input.ClientRequestToken === 'string' ? input.ClientRequestToken : randomUUID();
      secret.versions.push({ versionId, secretString: input.SecretString });
      return reply(200, {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        VersionStages: ['AWSCURRENT'],
      });
    }
    return reply(400, { __type: 'UnknownOperationException', message: `Not supported here: ${target}` });
  });

  return {
    url,
    createSecret(name) {
      const arn = `arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-AbCdEf`;
      secrets.push({ arn, name, versions: [] });
      return arn;
    },
    current: (secretId) => find(secretId)?.versions.at(-1)?.secretString,
    close: () => close(server),
  };
}

// ---------------------------------------------------------------------------------------------

export interface MoveTaskStub {
  url: string;
  /** StartMessageMoveTask inputs received. */
  started: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/** SQS's JSON 1.0 protocol for StartMessageMoveTask and ListMessageMoveTasks, on known dead-letter queues. */
export async function startMoveTaskStub(dlqArns: readonly string[]): Promise<MoveTaskStub> {
  const started: Array<Record<string, unknown>> = [];
  const tasks: Array<Record<string, unknown>> = [];
  const { url, server } = await listen((request, body) => {
    const target = String(request.headers['x-amz-target'] ?? '');
    const input = JSON.parse(body || '{}') as Record<string, unknown>;
    const reply = (status: number, value: unknown): Reply => ({
      status,
      body: value,
      contentType: 'application/x-amz-json-1.0',
    });
    if (!dlqArns.includes(String(input.SourceArn))) {
      return reply(400, {
        __type: 'com.amazonaws.sqs#ResourceNotFoundException',
        message: 'The resource does not exist.',
      });
    }
    if (target === 'AmazonSQS.StartMessageMoveTask') {
      if (tasks.some((task) => task.SourceArn === input.SourceArn && task.Status === 'RUNNING')) {
        return reply(400, {
          __type: 'com.amazonaws.sqs#UnsupportedOperation',
          message: 'A task is already running.',
        });
      }
      started.push(input);
      const handle = Buffer.from(
        JSON.stringify({ taskId: randomUUID(), sourceArn: input.SourceArn }),
      ).toString('base64');
      tasks.unshift({
        TaskHandle: handle,
        Status: 'RUNNING',
        SourceArn: input.SourceArn,
        ...(input.DestinationArn ? { DestinationArn: input.DestinationArn } : {}),
        ApproximateNumberOfMessagesMoved: 0,
        ApproximateNumberOfMessagesToMove: 3,
        StartedTimestamp: Date.UTC(2026, 0, 2, 3, 4, 5),
      });
      return reply(200, { TaskHandle: handle });
    }
    if (target === 'AmazonSQS.ListMessageMoveTasks') {
      return reply(200, { Results: tasks.filter((task) => task.SourceArn === input.SourceArn) });
    }
    return reply(400, {
      __type: 'com.amazonaws.sqs#UnsupportedOperation',
      message: `Not supported here: ${target}`,
    });
  });
  return { url, started, close: () => close(server) };
}

// ---------------------------------------------------------------------------------------------

export interface CloudFormationStub {
  url: string;
  /** DescribeStacks calls answered. */
  calls(): number;
  close(): Promise<void>;
}

const xmlEscape = (text: string) =>
  text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);

/** CloudFormation's query protocol (form-encoded POST, XML answer) for DescribeStacks only. */
export async function startCloudFormationStub(
  stacks: Record<string, Record<string, string>>,
): Promise<CloudFormationStub> {
  let calls = 0;
  const { url, server } = await listen((_request, body) => {
    const form = new URLSearchParams(body);
    const name = form.get('StackName') ?? '';
    if (form.get('Action') !== 'DescribeStacks') {
      return { status: 400, contentType: 'text/xml', body: errorXml('InvalidAction', 'Only DescribeStacks') };
    }
    calls += 1;
    const outputs = stacks[name];
    if (!outputs) {
      return {
        status: 400,
        contentType: 'text/xml',
        body: errorXml('ValidationError', `Stack with id ${name} does not exist`),
      };
    }
    const members = Object.entries(outputs)
      .map(
        ([key, value]) =>
          `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`,
      )
      .join('');
    return {
      status: 200,
      contentType: 'text/xml',
      body:
        '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member>' +
        `<StackName>${xmlEscape(name)}</StackName><StackId>arn:aws:cloudformation:us-east-1:111122223333:stack/${xmlEscape(name)}/1</StackId>` +
        `<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${members}</Outputs>` +
        '</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>stub</RequestId></ResponseMetadata></DescribeStacksResponse>',
    };
  });
  return { url, calls: () => calls, close: () => close(server) };
}

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>stub</RequestId></ErrorResponse>`;
}
