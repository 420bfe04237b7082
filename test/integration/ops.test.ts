/**
 * The operator commands against real local servers: s3rver for the bucket, the local SQS
 * endpoint for the queue, the Zoho sandbox's accounts server, and small protocol stubs for
 * Secrets Manager and SQS move tasks. The cores are called directly, and each CLI is run as a
 * child process too.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event } from 'aws-lambda';
import S3rver from 's3rver';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ObjectEvent, parseSqsRecord, REPLAY_CONFIGURATION_ID } from '#lib/s3/event.ts';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { toSqsRecord } from '#tools/local/event-source.ts';
import { createLocalQueue, type LocalQueue } from '#tools/local/queue.ts';
import { type SqsEndpoint, startSqsEndpoint } from '#tools/local/sqs-endpoint.ts';
import { bucketStatus, formatStatus } from '#tools/ops/bucket-status.ts';
import { listRedrives, startRedrive } from '#tools/ops/dlq-redrive.ts';
import {
  checkSecret,
  exchangeGrantCode,
  missingPipelineScopes,
  PIPELINE_SCOPES,
  shellExports,
  storeCredentials,
} from '#tools/ops/grant-code.ts';
import { replayObjects, replayTarget } from '#tools/ops/requeue.ts';
import { ZohoAuthError } from '#zoho/errors.ts';
import {
  type MoveTaskStub,
  type SecretsManagerStub,
  startMoveTaskStub,
  startSecretsManagerStub,
} from './ops-stubs.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const BUCKET = 'inbox';
const AWS_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const RECORD = '1234567890123456789';
const DLQ_ARN = 'arn:aws:sqs:us-east-1:000000000000:attachments-dlq';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:attachments';

/** Keys S3 must encode in events: a space (`+`), a plus (`%2B`), a percent sign, non-ASCII. */
const ODD_KEYS = [
  `attachments/Leads/${RECORD}/report Q1+draft.pdf`,
  `attachments/Leads/${RECORD}/100% Präsentation – été 東京.pdf`,
];

/** The bucket the tests read: tags as the pipeline leaves them, and objects it never saw. */
const OBJECTS: Array<{ key: string; body?: string; tags?: Record<string, string> }> = [
  {
    key: `attachments/Leads/${RECORD}/done.pdf`,
    tags: { 'zoho-status': 'done', 'zoho-id': '5725767000000123001' },
  },
  {
    key: `attachments/Leads/${RECORD}/too-big.pdf`,
    tags: { 'zoho-status': 'failed', 'zoho-error': 'FILE_TOO_LARGE', 'zoho-at': '2026-03-01T10:00:00.000Z' },
  },
  {
    key: `attachments/Leads/${RECORD}/locked.pdf`,
    tags: { 'zoho-status': 'failed', 'zoho-error': 'RECORD_LOCKED', 'zoho-at': '2026-03-02T10:00:00.000Z' },
  },
  { key: `attachments/Leads/${RECORD}/stuck.pdf`, tags: { 'zoho-status': 'pushing' } },
  { key: `attachments/Leads/${RECORD}/before-the-stack.pdf` },
  ...ODD_KEYS.map((key) => ({ key })),
  { key: 'attachments/Leads/', body: '' },
  { key: `photos/Contacts/${RECORD}.png`, tags: { 'zoho-status': 'done' } },
  {
    key: `photos/Contacts/${RECORD}/notes.txt`,
    tags: { 'zoho-status': 'skipped', 'zoho-error': 'UNROUTED' },
  },
  {
    key: 'bulk-write/Leads/insert/leads.zip',
    tags: { 'zoho-status': 'failed', 'zoho-error': 'INVALID_ZIP', 'zoho-at': '2026-03-03T10:00:00.000Z' },
  },
  { key: 'bulk-write-results/Leads/insert/leads.csv' },
];

let directory: string;
let s3rver: S3rver;
let s3Endpoint: string;
let s3: S3Client;
let queue: LocalQueue;
let sqsEndpoint: SqsEndpoint;
let sqs: SQSClient;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ops-'));
  s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const address = await s3rver.run();
  s3Endpoint = `http://127.0.0.1:${address.port}`;
  s3 = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: AWS_KEYS,
  });
  for (const object of OBJECTS) {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: object.key,
        Body: Buffer.from(object.body ?? `bytes of ${object.key}`),
      }),
    );
    if (object.tags) {
      const TagSet = Object.entries(object.tags).map(([Key, Value]) => ({ Key, Value }));
      await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: object.key, Tagging: { TagSet } }));
    }
  }

  queue = createLocalQueue({ name: 'attachments' });
  sqsEndpoint = await startSqsEndpoint({ queues: [queue] });
  sqs = new SQSClient({ endpoint: sqsEndpoint.url, region: 'us-east-1', credentials: AWS_KEYS });
});

afterAll(async () => {
  s3?.destroy();
  sqs?.destroy();
  await sqsEndpoint?.close();
  queue?.close();
  await s3rver?.close();
  await rm(directory, { recursive: true, force: true });
});

beforeEach(() => {
  drain(queue);
});

interface Replayed {
  /** The message body, as sent. */
  event: S3Event;
  /** The same message as the pipeline reads it (its key decoded). */
  object: ObjectEvent;
}

/** Everything on the queue now, read by the pipeline's own parser. */
function drain(from: LocalQueue): Replayed[] {
  const replayed: Replayed[] = [];
  for (let batch = from.receive(10); batch.length > 0; batch = from.receive(10)) {
    for (const message of batch) {
      const parsed = parseSqsRecord(toSqsRecord(message, from.arn));
      if (!('objects' in parsed) || parsed.objects.length !== 1)
        throw new Error(`Not one object: ${message.body}`);
      replayed.push({ event: JSON.parse(message.body) as S3Event, object: parsed.objects[0] as ObjectEvent });
      from.delete(message.receiptHandle);
    }
  }
  return replayed;
}

const keysOf = (replayed: Replayed[]) => replayed.map(({ object }) => object.key);

async function cli(script: string, args: string[], env: Record<string, string> = {}) {
  const child = await run(process.execPath, [join(ROOT, 'scripts/ops', script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: directory, AWS_EC2_METADATA_DISABLED: 'true', ...env },
  }).then(
    (done) => ({ code: 0, ...done }),
    (failed: { code?: number; stdout: string; stderr: string }) => ({ ...failed, code: failed.code ?? -1 }),
  );
  return { code: child.code, stdout: child.stdout, stderr: child.stderr };
}

describe('status', () => {
  it('counts each prefix by zoho-status, leaving out folder markers and bulk results', async () => {
    const report = await bucketStatus({
      s3,
      bucket: BUCKET,
      prefixes: ['attachments/', 'photos/', 'bulk-write'],
    });

    expect(report.prefixes).toEqual([
      {
        prefix: 'attachments/',
        kind: 'attachment',
        total: 7,
        counts: { done: 1, failed: 2, skipped: 0, pushing: 1, unprocessed: 3 },
      },
      {
        prefix: 'photos/',
        kind: 'photo',
        total: 2,
        counts: { done: 1, failed: 0, skipped: 1, pushing: 0, unprocessed: 0 },
      },
      // `bulk-write` without its slash also matches `bulk-write-results/`: those are output, not input.
      {
        prefix: 'bulk-write',
        kind: 'bulk-write',
        total: 1,
        counts: { done: 0, failed: 1, skipped: 0, pushing: 0, unprocessed: 0 },
      },
    ]);
  });

  it('lists the latest failures first, as many as asked', async () => {
    const report = await bucketStatus({ s3, bucket: BUCKET, failureLimit: 2 });

    expect(report.failedTotal).toBe(3);
    expect(report.failures).toEqual([
      {
        key: 'bulk-write/Leads/insert/leads.zip',
        lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        failedAt: '2026-03-03T10:00:00.000Z',
        error: 'INVALID_ZIP',
        reason: undefined,
      },
      expect.objectContaining({ key: `attachments/Leads/${RECORD}/locked.pdf`, error: 'RECORD_LOCKED' }),
    ]);
    const text = formatStatus(report);
    expect(text).toMatch(/attachments\/\s+attachment\s+7\s+1\s+2\s+0\s+1\s+3/);
    expect(text).toContain('Latest failures (2 of 3)');
  });

  it('prints the same report as JSON from the command line', async () => {
    const { code, stdout } = await cli('status.ts', ['--bucket', BUCKET, '--endpoint', s3Endpoint, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(
      JSON.parse(JSON.stringify(await bucketStatus({ s3, bucket: BUCKET }))),
    );
  });
});

describe('replay', () => {
  const replay = (select: 'failed' | 'unprocessed' | 'all', dryRun = false) =>
    replayObjects({
      s3,
      sqs,
      bucket: BUCKET,
      prefix: 'attachments/',
      queueUrl: sqsEndpoint.queueUrl('attachments'),
      select,
      dryRun,
    });

  it('re-queues the failed objects by default, and only those', async () => {
    const result = await replay('failed');

    const failed = [`attachments/Leads/${RECORD}/locked.pdf`, `attachments/Leads/${RECORD}/too-big.pdf`];
    expect(result.scanned).toBe(7);
    expect(result.selected.map((t) => [t.key, t.reason, t.error])).toEqual([
      [failed[0], 'failed', 'RECORD_LOCKED'],
      [failed[1], 'failed', 'FILE_TOO_LARGE'],
    ]);
    expect(result.sent).toEqual(failed);
    expect(result.failed).toEqual([]);
    expect(keysOf(drain(queue))).toEqual(failed);
  });

  it('sends objects never processed as the event S3 sends, keys encoded as S3 encodes them', async () => {
    const result = await replay('unprocessed');

    const expected = [`attachments/Leads/${RECORD}/before-the-stack.pdf`, ...ODD_KEYS].sort();
    expect(result.sent.sort()).toEqual(expected);
    const replayed = drain(queue);
    expect(replayed).toHaveLength(3);
    for (const { event, object } of replayed) {
      expect(event.Records).toHaveLength(1);
      const record = event.Records[0];
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: object.key }));
      expect(object).toMatchObject({
        bucket: BUCKET,
        size: head.ContentLength,
        eventName: 'ObjectCreated:Put',
      });
      expect(record).toMatchObject({
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventName: 'ObjectCreated:Put',
        eventTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: REPLAY_CONFIGURATION_ID,
          bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
          object: {
            size: head.ContentLength,
            eTag: head.ETag?.replaceAll('"', ''),
            sequencer: expect.any(String),
          },
        },
      });
    }
    const rawKeys = replayed.map(({ event }) => event.Records[0]?.s3.object.key);
    expect(rawKeys).toContain(`attachments/Leads/${RECORD}/report+Q1%2Bdraft.pdf`);
    expect(rawKeys).toContain(
      `attachments/Leads/${RECORD}/100%25+Pr%C3%A4sentation+%E2%80%93+%C3%A9t%C3%A9+%E6%9D%B1%E4%BA%AC.pdf`,
    );
    expect(keysOf(replayed).sort()).toEqual(expected);
  });

  it('takes both with --all, and sends nothing in a dry run', async () => {
    const result = await replay('all', true);

    expect(result.selected.map((t) => t.reason).sort()).toEqual([
      'failed',
      'failed',
      'unprocessed',
      'unprocessed',
      'unprocessed',
    ]);
    expect(result.sent).toEqual([]);
    expect(drain(queue)).toEqual([]);
  });

  it('sends in batches SQS accepts (at most 10) when there are many', async () => {
    const keys = Array.from(
      { length: 23 },
      (_, i) => `many/Deals/${RECORD}/scan ${String(i).padStart(2, '0')}.pdf`,
    );
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));

    const result = await replayObjects({
      s3,
      sqs,
      bucket: BUCKET,
      prefix: 'many/',
      queueUrl: sqsEndpoint.queueUrl('attachments'),
      select: 'unprocessed',
    });

    expect(result.sent).toEqual(keys);
    expect(keysOf(drain(queue)).sort()).toEqual(keys);
  });

  it('reads every page of a long listing, with at most `concurrency` tag reads at once', async () => {
    const keys = Array.from(
      { length: 13 },
      (_, i) => `paged/Deals/${RECORD}/page ${String(i).padStart(2, '0')}.pdf`,
    );
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    let pages = 0;
    let inFlight = 0;
    let mostInFlight = 0;
    // S3 lists up to 1,000 keys a page (s3rver cannot continue a listing): pages of 4 cut here.
    const paged = {
      config: s3.config,
      async send(command: { input: Record<string, unknown> }, options?: unknown) {
        if (command instanceof ListObjectsV2Command) {
          pages++;
          const { ContinuationToken, ...input } = command.input;
          const all = await s3.send(new ListObjectsV2Command(input as never), options as never);
          const from = Number(ContinuationToken ?? 0);
          const contents = (all.Contents ?? []).slice(from, from + 4);
          const more = from + 4 < (all.Contents ?? []).length;
          return {
            Contents: contents,
            IsTruncated: more,
            ...(more ? { NextContinuationToken: String(from + 4) } : {}),
          };
        }
        const isTagRead = command instanceof GetObjectTaggingCommand;
        if (isTagRead) mostInFlight = Math.max(mostInFlight, ++inFlight);
        try {
          return await s3.send(command as never, options as never);
        } finally {
          if (isTagRead) inFlight--;
        }
      },
    } as unknown as S3Client;

    const result = await replayObjects({
      s3: paged,
      sqs,
      bucket: BUCKET,
      prefix: 'paged/',
      queueUrl: sqsEndpoint.queueUrl('attachments'),
      select: 'unprocessed',
      concurrency: 3,
    });

    expect(pages).toBe(4);
    expect(result.scanned).toBe(13);
    expect(result.sent).toEqual(keys);
    expect(mostInFlight).toBeGreaterThan(1);
    expect(mostInFlight).toBeLessThanOrEqual(3);
    expect(keysOf(drain(queue)).sort()).toEqual(keys);
  });

  it('runs from the command line, listing what it queues', async () => {
    const { code, stdout } = await cli('replay.ts', [
      '--bucket',
      BUCKET,
      '--prefix',
      `attachments/Leads/${RECORD}/`,
      '--queue-url',
      sqsEndpoint.queueUrl('attachments'),
      '--endpoint',
      s3Endpoint,
      '--sqs-endpoint',
      sqsEndpoint.url,
      '--failed',
    ]);

    expect(code).toBe(0);
    expect(stdout).toContain(`queue  failed (RECORD_LOCKED)  attachments/Leads/${RECORD}/locked.pdf`);
    expect(stdout).toContain(
      '7 objects under s3://inbox/attachments/Leads/1234567890123456789/: 2 selected (failed), re-queued 2.',
    );
    expect(drain(queue)).toHaveLength(2);
  });

  describe('dead-letter queue redrive', () => {
    let moveTasks: MoveTaskStub;
    let client: SQSClient;

    beforeAll(async () => {
      moveTasks = await startMoveTaskStub([DLQ_ARN]);
      client = new SQSClient({ endpoint: moveTasks.url, region: 'us-east-1', credentials: AWS_KEYS });
    });

    afterAll(async () => {
      client?.destroy();
      await moveTasks?.close();
    });

    it('starts a move task and follows it', async () => {
      const { taskHandle } = await startRedrive(client, {
        dlqArn: DLQ_ARN,
        destinationArn: QUEUE_ARN,
        maxPerSecond: 50,
      });

      expect(moveTasks.started).toEqual([
        { SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN, MaxNumberOfMessagesPerSecond: 50 },
      ]);
      expect(await listRedrives(client, DLQ_ARN)).toEqual([
        {
          taskHandle,
          status: 'RUNNING',
          sourceArn: DLQ_ARN,
          destinationArn: QUEUE_ARN,
          moved: 0,
          toMove: 3,
          failureReason: undefined,
          startedAt: '2026-01-02T03:04:05.000Z',
        },
      ]);

      const { code, stdout } = await cli('replay.ts', [
        '--redrive',
        '--status',
        '--dlq-arn',
        DLQ_ARN,
        '--endpoint',
        moveTasks.url,
      ]);
      expect(code).toBe(0);
      expect(stdout).toContain(`2026-01-02T03:04:05.000Z  RUNNING  0/3 moved  ${taskHandle}`);
    });

    it('names the queue SQS does not know', async () => {
      await expect(startRedrive(client, { dlqArn: `${DLQ_ARN}-typo` })).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
    });
  });
});

describe('auth', () => {
  let sandbox: Sandbox;
  let secretsManager: SecretsManagerStub;
  let secrets: SecretsManagerClient;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    secretsManager = await startSecretsManagerStub();
    secrets = new SecretsManagerClient({
      endpoint: secretsManager.url,
      region: 'us-east-1',
      credentials: AWS_KEYS,
    });
  });

  afterAll(async () => {
    secrets?.destroy();
    await secretsManager?.close();
    await sandbox?.close();
  });

  const grant = (code: string, overrides: { clientId?: string } = {}) => ({
    accountsUrl: sandbox.accountsUrl,
    clientId: overrides.clientId ?? sandbox.credentials.clientId,
    clientSecret: sandbox.credentials.clientSecret,
    code,
  });
  const tokenRequests = () =>
    sandbox.inspect().requests.filter((request) => request.host === 'accounts').length;

  /** A refresh token is good when the accounts server mints an access token from it. */
  async function mintsAccessToken(refreshToken: string): Promise<boolean> {
    const response = await fetch(`${sandbox.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: sandbox.credentials.clientId,
        client_secret: sandbox.credentials.clientSecret,
        refresh_token: refreshToken,
      }),
    });
    const body = (await response.json()) as { access_token?: unknown };
    return typeof body.access_token === 'string';
  }

  it('exchanges a grant code for a refresh token that works', async () => {
    const exchanged = await exchangeGrantCode(grant(sandbox.issueGrantCode()));

    expect(exchanged.apiDomain).toBe(sandbox.apiUrl);
    expect(exchanged.refreshToken).not.toBe(sandbox.credentials.refreshToken);
    expect(await mintsAccessToken(exchanged.refreshToken)).toBe(true);
  });

  it('asks for the search scope, and says which pipeline scopes a grant lacks', async () => {
    expect(PIPELINE_SCOPES).toContain('ZohoSearch.securesearch.READ');
    const full = await exchangeGrantCode(grant(sandbox.issueGrantCode(PIPELINE_SCOPES)));
    expect(missingPipelineScopes(full.scope)).toEqual([]);
    const narrow = await exchangeGrantCode(grant(sandbox.issueGrantCode(['ZohoCRM.modules.ALL'])));
    expect(missingPipelineScopes(narrow.scope)).toEqual(PIPELINE_SCOPES.slice(1));
  });

  it('explains an invalid_code answered with HTTP 200: the code is single use and short-lived', async () => {
    const code = sandbox.issueGrantCode();
    await exchangeGrantCode(grant(code));

    const reused = await exchangeGrantCode(grant(code)).catch((error: unknown) => error);

    expect(reused).toBeInstanceOf(ZohoAuthError);
    expect(reused).toMatchObject({ zohoCode: 'invalid_code', status: 200 });
    expect((reused as Error).message).toMatch(/single use.*few minutes/);
  });

  it('refuses a code that has run out its minutes', async () => {
    const code = sandbox.issueGrantCode();
    sandbox.clock.advance(3 * 60_000 + 1);

    await expect(exchangeGrantCode(grant(code))).rejects.toMatchObject({ zohoCode: 'invalid_code' });
  });

  it('points at the client id and data centre on invalid_client', async () => {
    const error = await exchangeGrantCode(
      grant(sandbox.issueGrantCode(), { clientId: 'someone-else' }),
    ).catch((e: unknown) => e);

    expect(error).toMatchObject({ zohoCode: 'invalid_client' });
    expect((error as Error).message).toMatch(/client id.*data centre/);
  });

  it('stores the OAuth client in the secret in the shape the pipeline reads', async () => {
    const arn = secretsManager.createSecret('ZohoSecret');
    const credentials = { clientId: 'id-1', clientSecret: 'secret-1', refreshToken: 'refresh-1' };

    await checkSecret(secrets, 'ZohoSecret');
    const stored = await storeCredentials(secrets, 'ZohoSecret', credentials);

    expect(stored.arn).toBe(arn);
    expect(JSON.parse(secretsManager.current(arn) ?? '')).toEqual({
      client_id: 'id-1',
      client_secret: 'secret-1',
      refresh_token: 'refresh-1',
    });
    await expect(checkSecret(secrets, 'NoSuchSecret')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('prints shell exports, quoting what the shell would split', () => {
    const text = shellExports(
      { clientId: 'id-1', clientSecret: "it's a secret", refreshToken: 'r.1' },
      'eu',
      {
        accountsUrl: 'http://127.0.0.1:1/accounts',
      },
    );

    expect(text.split('\n')).toEqual([
      'export ZOHO_CLIENT_ID=id-1',
      "export ZOHO_CLIENT_SECRET='it'\\''s a secret'",
      'export ZOHO_REFRESH_TOKEN=r.1',
      'export ZOHO_DC=eu',
      'export ZOHO_ACCOUNTS_URL=http://127.0.0.1:1/accounts',
    ]);
  });

  describe('from the command line', () => {
    const base = () => [
      '--client-id',
      sandbox.credentials.clientId,
      '--dc',
      'eu',
      '--accounts-url',
      sandbox.accountsUrl,
    ];
    const env = () => ({ ZOHO_CLIENT_SECRET: sandbox.credentials.clientSecret });

    it('stores into the stack secret and prints no secret', async () => {
      const arn = secretsManager.createSecret('StackZohoSecret');
      const args = [
        ...base(),
        '--code',
        sandbox.issueGrantCode(),
        '--secret-id',
        arn,
        '--endpoint',
        secretsManager.url,
      ];

      const { code, stdout, stderr } = await cli('auth.ts', args, env());

      expect(code).toBe(0);
      const secret = JSON.parse(secretsManager.current(arn) ?? '') as Record<string, string>;
      expect(secret).toEqual({
        client_id: sandbox.credentials.clientId,
        client_secret: sandbox.credentials.clientSecret,
        refresh_token: expect.any(String),
      });
      expect(await mintsAccessToken(secret.refresh_token ?? '')).toBe(true);
      expect(stdout).toBe('');
      expect(stderr).toContain(`Stored in ${arn}`);
      expect(stderr).not.toContain(secret.refresh_token);
      expect(stderr).not.toContain(sandbox.credentials.clientSecret);
    });

    it('prints export lines with --print', async () => {
      const { code, stdout } = await cli(
        'auth.ts',
        [...base(), '--code', sandbox.issueGrantCode(), '--print'],
        env(),
      );

      expect(code).toBe(0);
      const lines = stdout.trimEnd().split('\n');
      expect(lines).toEqual([
        `export ZOHO_CLIENT_ID=${sandbox.credentials.clientId}`,
        `export ZOHO_CLIENT_SECRET=${sandbox.credentials.clientSecret}`,
        expect.stringMatching(/^export ZOHO_REFRESH_TOKEN=\S+$/),
        'export ZOHO_DC=eu',
        `export ZOHO_ACCOUNTS_URL=${sandbox.accountsUrl}`,
      ]);
      expect(await mintsAccessToken(lines[2]?.split('=')[1] ?? '')).toBe(true);
    });

    it('reads the client secret from a pipe when it is not in the environment', async () => {
      const child = run(
        process.execPath,
        [join(ROOT, 'scripts/ops/auth.ts'), ...base(), '--code', sandbox.issueGrantCode(), '--print'],
        { cwd: ROOT, env: { PATH: process.env.PATH ?? '' } },
      );
      child.child.stdin?.end(`${sandbox.credentials.clientSecret}\n`);

      const { stdout } = await child;

      expect(stdout).toContain(`export ZOHO_CLIENT_SECRET=${sandbox.credentials.clientSecret}`);
    });

    it('fails with the reason on invalid_code', async () => {
      const code = sandbox.issueGrantCode();
      await exchangeGrantCode(grant(code));

      const result = await cli('auth.ts', [...base(), '--code', code, '--print'], env());

      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Error (ZOHO_AUTH): Zoho refused the grant code (invalid_code)');
      expect(result.stdout).toBe('');
    });

    it('spends no grant code when the secret cannot be reached or nothing would keep the token', async () => {
      const before = tokenRequests();

      const [missing, nowhere] = await Promise.all([
        cli(
          'auth.ts',
          [...base(), '--code', 'unused', '--secret-id', 'Nope', '--endpoint', secretsManager.url],
          env(),
        ),
        cli('auth.ts', [...base(), '--code', 'unused'], env()),
      ]);

      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('ResourceNotFoundException');
      expect(nowhere.code).toBe(2);
      expect(nowhere.stderr).toContain('--secret-id <arn or name>, --stack <name>, or --print');
      expect(tokenRequests()).toBe(before);
    });
  });
});

describe('which objects replay takes', () => {
  const object = (status?: string) => ({
    key: 'attachments/Leads/1/a.pdf',
    size: 1,
    eTag: 'e',
    lastModified: undefined,
    versionId: undefined,
    tags: status ? { 'zoho-status': status } : {},
  });

  it('takes failed and retrying objects as failed, untagged ones as unprocessed, nothing else', () => {
    expect(replayTarget(object('failed'), 'failed')?.reason).toBe('failed');
    expect(replayTarget(object('retrying'), 'failed')?.reason).toBe('failed');
    expect(replayTarget(object(), 'unprocessed')?.reason).toBe('unprocessed');
    expect(replayTarget(object(), 'failed')).toBeUndefined();
    for (const status of ['done', 'skipped', 'pushing']) {
      expect(replayTarget(object(status), 'all')).toBeUndefined();
    }
  });

  it('takes every object with --force, whatever its status or the selection', () => {
    for (const status of [undefined, 'done', 'skipped', 'pushing', 'failed']) {
      expect(replayTarget(object(status), 'unprocessed', undefined, true)).toEqual({
        key: 'attachments/Leads/1/a.pdf',
        size: 1,
        eTag: 'e',
        versionId: undefined,
        reason: 'forced',
        error: undefined,
      });
    }
  });
});
