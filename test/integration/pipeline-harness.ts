/**
 * The real pieces on real ports for pipeline tests: an embedded S3 (s3rver) whose notifications
 * have AWS's shape, dynalite with the ledger and token tables, the Zoho sandbox, and a local SQS
 * endpoint for the bulk write follow-ups. Tests drop objects and hand the events to the handlers
 * exactly as the SQS event source would.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  CopyObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
} from '@aws-sdk/client-s3';
import type { S3Event, SQSEvent } from 'aws-lambda';
import { loadConfig } from '#lib/config.ts';
import { createDeps, type Kind, type PipelineDeps } from '#lib/pipeline/deps.ts';
import type { LedgerTable } from '#lib/pipeline/full-reason.ts';
import { createHandler, type PipelineHandler } from '#lib/pipeline/handler.ts';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { createPipelineTables, startLocalDynamoDb } from '#tools/local/dynamodb.ts';
import { createLambdaContext, toSqsRecord } from '#tools/local/event-source.ts';
import { createLocalQueue } from '#tools/local/queue.ts';
import {
  createLocalS3Client,
  type S3Notification,
  S3RVER_CREDENTIALS,
  startLocalS3,
} from '#tools/local/s3.ts';
import { startSqsEndpoint } from '#tools/local/sqs-endpoint.ts';
import { createZohoClient } from '#zoho/client.ts';
import { resolveHosts } from '#zoho/hosts.ts';
import type { ZohoClient } from '#zoho/types.ts';

export interface Harness {
  sandbox: Sandbox;
  s3: ReturnType<typeof createLocalS3Client>;
  s3Endpoint: string;
  bucket: string;
  /** The ledger table (dynalite) the handlers write: its name, client and endpoint. */
  ledger: LedgerTable & { endpoint: string };
  handlers: Record<Kind, PipelineHandler>;
  /** What each handler was built with (e.g. to watch its S3 client's calls). */
  deps: Record<Kind, PipelineDeps>;
  /** Puts an object and returns the S3 event its notification carried (AWS's shape, key URL-encoded). */
  put(key: string, body: Buffer | string, metadata?: Record<string, string>): Promise<S3Event>;
  /** Copies an object the way S3 does by default (tags included) and returns its event. */
  copy(from: string, to: string): Promise<S3Event>;
  /**
   * Delivers S3 events (or EventBridge's S3 events) to a kind's handler as one SQS batch; returns
   * the ids of the records that failed.
   */
  deliver(kind: Kind, ...events: Array<S3Event | Record<string, unknown>>): Promise<string[]>;
  /** The bulk function's own queue (follow-ups). */
  bulkQueue: ReturnType<typeof createLocalQueue>;
  /** The local SQS endpoint, and the bulk queue's URL on it (what `npm run replay` sends to). */
  sqsUrl: string;
  bulkQueueUrl: string;
  /** Runs the bulk function's follow-ups until the object has a final status (or the deadline). */
  followBulk(key: string, deadlineMs?: number): Promise<Record<string, string>>;
  tags(key: string): Promise<Record<string, string>>;
  read(key: string): Promise<string>;
  readBytes(key: string): Promise<Buffer>;
  close(): Promise<void>;
}

/** What a Lambda that died mid-push leaves on its object: `pushing`, with the attempt's time. */
export async function markPushing(h: Harness, key: string): Promise<void> {
  await h.s3.send(
    new PutObjectTaggingCommand({
      Bucket: h.bucket,
      Key: key,
      Tagging: {
        TagSet: [
          { Key: 'zoho-status', Value: 'pushing' },
          { Key: 'zoho-attempt', Value: new Date().toISOString() },
        ],
      },
    }),
  );
}

/** The test's own view of Zoho, through the client, as a CRM admin would look. */
export function adminClient(sandbox: Sandbox): ZohoClient {
  return createZohoClient({
    hosts: resolveHosts('us', {
      accountsUrl: sandbox.accountsUrl,
      apiUrl: sandbox.apiUrl,
      uploadUrl: sandbox.uploadUrl,
    }),
    credentials: sandbox.credentials,
  });
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** The handlers' logger; default Powertools' own (silenced by the test environment). */
  log?: Logger;
  /** The sandbox's bulk job step (default 50 ms). */
  bulkJobStepMs?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-test-'));
  const bucket = 'inbox';
  const localS3 = await startLocalS3({ directory: dir, bucket });
  const dynamo = await startLocalDynamoDb();
  await createPipelineTables(dynamo.client, {
    tokenTable: 'tokens',
    idempotencyTable: 'ledger',
    importsTable: 'imports',
  });
  const sandbox = await startSandbox({ port: 0, bulkJobStepMs: options.bulkJobStepMs ?? 50 });
  const bulkQueue = createLocalQueue({ name: 's3-to-zoho-bulk-write' });
  const sqs = await startSqsEndpoint({ queues: [bulkQueue] });

  const config = loadConfig({
    ZOHO_ACCOUNTS_URL: sandbox.accountsUrl,
    ZOHO_API_URL: sandbox.apiUrl,
    ZOHO_UPLOAD_URL: sandbox.uploadUrl,
    S3_ENDPOINT: localS3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SQS_ENDPOINT: sqs.url,
    FOLLOW_UP_QUEUE_URL: sqs.queueUrl(bulkQueue.name),
    TOKEN_TABLE: 'tokens',
    IDEMPOTENCY_TABLE: 'ledger',
    IMPORTS_TABLE: 'imports',
    BULK_POLL_SECONDS: '1',
    AWS_REGION: 'us-east-1',
    ...options.env,
  });
  const overrides = {
    credentials: sandbox.credentials,
    awsCredentials: S3RVER_CREDENTIALS,
    ...(options.log ? { log: options.log } : {}),
  };
  const deps = {
    attachment: await createDeps('attachment', config, overrides),
    photo: await createDeps('photo', config, overrides),
    'bulk-write': await createDeps('bulk-write', config, overrides),
  } satisfies Record<Kind, PipelineDeps>;
  const handlers = {
    attachment: createHandler('attachment', deps.attachment),
    photo: createHandler('photo', deps.photo),
    'bulk-write': createHandler('bulk-write', deps['bulk-write']),
  } satisfies Record<Kind, PipelineHandler>;

  const s3 = createLocalS3Client(localS3.endpoint);
  const notifications = new Map<string, (n: S3Notification) => void>();
  localS3.onNotification((n) => notifications.get(n.key)?.(n));

  async function invoke(kind: Kind, event: SQSEvent) {
    const context = createLambdaContext({ functionName: `s3-to-zoho-${kind}`, timeoutMs: 60_000 });
    const response = await handlers[kind](event, context);
    return (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
  }

  async function tags(key: string) {
    const { TagSet = [] } = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
    return Object.fromEntries(TagSet.map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  return {
    sandbox,
    s3,
    s3Endpoint: localS3.endpoint,
    bucket,
    ledger: { client: dynamo.client, tableName: 'ledger', endpoint: dynamo.endpoint },
    handlers,
    deps,
    bulkQueue,
    sqsUrl: sqs.url,
    bulkQueueUrl: sqs.queueUrl(bulkQueue.name),
    async put(key, body, metadata) {
      const delivered = new Promise<S3Event>((resolve) => notifications.set(key, (n) => resolve(n.event)));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
      const event = await delivered;
      notifications.delete(key);
      return event;
    },
    async copy(from, to) {
      const delivered = new Promise<S3Event>((resolve) => notifications.set(to, (n) => resolve(n.event)));
      await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
        }),
      );
      const event = await delivered;
      notifications.delete(to);
      return event;
    },
    deliver(kind, ...events) {
      const records = events.map((event) =>
        toSqsRecord(
          {
            messageId: randomUUID(),
            receiptHandle: randomUUID(),
            body: JSON.stringify(event),
            md5OfBody: '',
            receiveCount: 1,
            sentTimestamp: Date.now(),
            firstReceiveTimestamp: Date.now(),
          },
          `arn:aws:sqs:us-east-1:000000000000:s3-to-zoho-${kind}`,
        ),
      );
      return invoke(kind, { Records: records });
    },
    async followBulk(key, deadlineMs = 20_000) {
      const until = Date.now() + deadlineMs;
      for (;;) {
        const current = await tags(key);
        if (current['zoho-status'] !== 'pushing' || Date.now() > until) return current;
        const messages = bulkQueue.receive(10);
        if (messages.length === 0) {
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const records = messages.map((m) => toSqsRecord(m, bulkQueue.arn));
        const failed = await invoke('bulk-write', { Records: records });
        for (const m of messages) if (!failed.includes(m.messageId)) bulkQueue.delete(m.receiptHandle);
      }
    },
    tags,
    async readBytes(key) {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
    },
    async read(key) {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await answer.Body?.transformToString()) ?? '';
    },
    async close() {
      bulkQueue.close();
      await sqs.close();
      await sandbox.close();
      await dynamo.close();
      await localS3.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
