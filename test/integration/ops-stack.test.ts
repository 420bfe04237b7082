/**
 * The operator commands take the stack's outputs by stack name (`--stack`, CloudFormation
 * DescribeStacks, here a local stub speaking its query protocol) instead of a bucket, queue URLs
 * and a secret ARN copied by hand.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '#lib/log.ts';
import { keepFullReason } from '#lib/pipeline/full-reason.ts';
import { createPipelineTables, type LocalDynamoDb, startLocalDynamoDb } from '#tools/local/dynamodb.ts';
import { createLocalQueue, type LocalQueue } from '#tools/local/queue.ts';
import { type SqsEndpoint, startSqsEndpoint } from '#tools/local/sqs-endpoint.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { type CloudFormationStub, startCloudFormationStub } from './ops-stubs.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const BUCKET = 'crm-drop';
const KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const LEDGER = 'S3ToZoho-IdempotencyTable';
/** The outcome on in/attachments/Leads/1/a.pdf: its reason as the tag holds it, and in full. */
const FAILED_AT = '2026-03-01T10:00:00.000Z';
const SHORT_REASON = 'setup.exe is a .exe file - Zoho CRM refuses .exe attachments.';
const FULL_REASON = '"setup.exe" is a .exe file; Zoho CRM refuses .exe attachments.';

let directory: string;
let s3rver: S3rver;
let s3Endpoint: string;
let queues: Record<'attachment' | 'photo', LocalQueue>;
let sqs: SqsEndpoint;
let cloudFormation: CloudFormationStub;
let dynamo: LocalDynamoDb;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'ops-stack-'));
  s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  s3Endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  const s3 = new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: KEYS,
  });
  const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
  for (const [key, status, attempt] of [
    ['in/attachments/Leads/1/a.pdf', 'failed', undefined],
    ['in/attachments/Leads/1/b.pdf', 'done', undefined],
    ['in/attachments/Leads/1/c.pdf', 'pushing', hourAgo],
    ['in/attachments/Leads/1/d.pdf', 'pushing', new Date().toISOString()],
    ['in/photos/Leads/1.png', 'failed', undefined],
    ['fields/Leads/1/Documents/e.pdf', 'failed', undefined],
  ] as const) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    const TagSet = [
      { Key: 'zoho-status', Value: status },
      ...(attempt ? [{ Key: 'zoho-attempt', Value: attempt }] : []),
      ...(key.endsWith('a.pdf')
        ? [
            { Key: 'zoho-at', Value: FAILED_AT },
            { Key: 'zoho-reason', Value: SHORT_REASON },
          ]
        : []),
    ];
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet } }));
  }
  s3.destroy();
  dynamo = await startLocalDynamoDb();
  await createPipelineTables(dynamo.client, { tokenTable: 'tokens', idempotencyTable: LEDGER });
  await keepFullReason(
    { ledger: { client: dynamo.client, tableName: LEDGER }, log: silentLog, now: () => new Date() },
    { bucket: BUCKET, key: 'in/attachments/Leads/1/a.pdf' },
    { 'zoho-status': 'failed', 'zoho-at': FAILED_AT, 'zoho-reason': FULL_REASON },
  );
  queues = {
    attachment: createLocalQueue({ name: 'attachments' }),
    photo: createLocalQueue({ name: 'photos' }),
  };
  sqs = await startSqsEndpoint({ queues: Object.values(queues) });
  cloudFormation = await startCloudFormationStub({
    S3ToZoho: {
      [OUTPUT_NAMES.bucket]: BUCKET,
      [OUTPUT_NAMES.secretArn]: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:zoho-AbCdEf',
      [OUTPUT_NAMES.ledgerTable]: LEDGER,
      [OUTPUT_NAMES.queueUrl('attachment')]: sqs.queueUrl('attachments'),
      [OUTPUT_NAMES.prefix('attachment')]: 'in/attachments/',
      [OUTPUT_NAMES.queueUrl('photo')]: sqs.queueUrl('photos'),
      [OUTPUT_NAMES.prefix('photo')]: 'in/photos/',
      [OUTPUT_NAMES.prefix('bulk-write')]: 'in/bulk-write/',
    },
  });
});

afterAll(async () => {
  await cloudFormation?.close();
  await dynamo?.close();
  await sqs?.close();
  for (const queue of Object.values(queues ?? {})) queue.close();
  await s3rver?.close();
  await rm(directory, { recursive: true, force: true });
});

async function cli(script: string, args: string[]) {
  const base = [
    '--stack',
    'S3ToZoho',
    '--cloudformation-endpoint',
    cloudFormation.url,
    '--endpoint',
    s3Endpoint,
  ];
  return run(process.execPath, [join(ROOT, 'scripts/ops', script), ...base, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: directory, AWS_EC2_METADATA_DISABLED: 'true' },
  }).then(
    (done) => ({ code: 0, stdout: done.stdout, stderr: done.stderr }),
    (failed: { code?: number; stdout: string; stderr: string }) => ({ ...failed, code: failed.code ?? -1 }),
  );
}

describe('--stack NAME', () => {
  it('gives status the bucket and the watched prefixes', async () => {
    const { code, stdout } = await cli('status.ts', ['--json']);
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      bucket: string;
      prefixes: Array<{ prefix: string; total: number }>;
    };
    expect(report.bucket).toBe(BUCKET);
    expect(report.prefixes.map((p) => [p.prefix, p.total])).toEqual([
      ['in/attachments/', 4],
      ['fields/', 1],
      ['in/photos/', 1],
      ['in/bulk-write/', 0],
    ]);
  });

  it('gives status the ledger table, where the full reasons are', async () => {
    const { code, stdout } = await cli('status.ts', ['--dynamodb-endpoint', dynamo.endpoint]);
    expect(code).toBe(0);
    expect(stdout).toContain(`${FAILED_AT}  in/attachments/Leads/1/a.pdf  -  ${FULL_REASON}`);
    expect(stdout).not.toContain(SHORT_REASON);

    // Without the table's endpoint (no AWS here) the ledger cannot be read: the tags' text, said so.
    const fallback = await cli('status.ts', []);
    expect(fallback.code).toBe(0);
    expect(fallback.stdout).toContain(`in/attachments/Leads/1/a.pdf  -  ${SHORT_REASON}`);
    expect(fallback.stdout).toMatch(/the ledger table could not be read \(.+\)/);
  });

  it('sends a file-upload field file to the attachments queue, the queue that takes fields/', async () => {
    const { code, stdout } = await cli('replay.ts', ['--prefix', 'fields/', '--sqs-endpoint', sqs.url]);
    expect(stdout).toContain('re-queued 1');
    expect(code).toBe(0);
    const received = queues.attachment
      .receive(10)
      .map((message) => JSON.parse(message.body).Records[0].s3.object.key);
    expect(received).toEqual(['fields/Leads/1/Documents/e.pdf']);
    expect(queues.photo.counts().visible).toBe(0);
  });

  it('gives replay the bucket and the queue of the prefix kind', async () => {
    const { code, stdout } = await cli('replay.ts', ['--prefix', 'in/photos/', '--sqs-endpoint', sqs.url]);
    expect(stdout).toContain('re-queued 1');
    expect(code).toBe(0);
    const received = queues.photo
      .receive(10)
      .map((message) => JSON.parse(message.body).Records[0].s3.object.key);
    expect(received).toEqual(['in/photos/Leads/1.png']);
    expect(queues.attachment.counts().visible).toBe(0);
  });

  it('names what is missing: a stack that does not exist, a prefix no kind watches, an output', async () => {
    const missing = await run(
      process.execPath,
      [
        join(ROOT, 'scripts/ops/status.ts'),
        '--stack',
        'Nope',
        '--cloudformation-endpoint',
        cloudFormation.url,
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: directory, AWS_EC2_METADATA_DISABLED: 'true' },
      },
    ).catch((failed: { code: number; stderr: string }) => failed);
    expect(missing.stderr).toMatch(/Stack with id Nope does not exist/);
    const elsewhere = await cli('replay.ts', ['--prefix', 'other/', '--dry-run']);
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).toMatch(/--prefix other\/ lies under none of the stack's watched prefixes/);
    // The stub's stack has no bulk-write queue: the output is named, not a generic usage line.
    const noQueue = await cli('replay.ts', ['--prefix', 'in/bulk-write/']);
    expect(noQueue.code).toBe(1);
    expect(noQueue.stderr).toContain(
      `The stack S3ToZoho has no output ${OUTPUT_NAMES.queueUrl('bulk-write')}: deploy the current stack first`,
    );
  });
});

describe('replay of a long or stuck scan', () => {
  interface Replayed {
    selected: Array<{ key: string; reason: string }>;
    lastKey: string;
  }
  const dryRun = async (args: string[]) => {
    const { code, stdout } = await cli('replay.ts', [
      '--prefix',
      'in/attachments/',
      '--dry-run',
      '--json',
      ...args,
    ]);
    expect(code).toBe(0);
    return JSON.parse(stdout) as Replayed;
  };

  it('takes objects left pushing longer than the function timeout, not one pushing now', async () => {
    const stuck = await dryRun(['--stuck']);
    expect(stuck.selected.map((t) => [t.key, t.reason])).toEqual([['in/attachments/Leads/1/c.pdf', 'stuck']]);
    const all = await dryRun(['--all']);
    expect(all.selected.map((t) => t.key)).toEqual([
      'in/attachments/Leads/1/a.pdf',
      'in/attachments/Leads/1/c.pdf',
    ]);
  });

  it('resumes after a key with --start-after, and says the last key it looked at', async () => {
    const resumed = await dryRun(['--all', '--start-after', 'in/attachments/Leads/1/b.pdf']);
    expect(resumed.selected.map((t) => t.key)).toEqual(['in/attachments/Leads/1/c.pdf']);
    expect(resumed.lastKey).toBe('in/attachments/Leads/1/d.pdf');
  });
});
