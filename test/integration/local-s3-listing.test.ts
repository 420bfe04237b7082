/**
 * The local bucket lists like S3 past one page: s3rver 3.7.1 answered every truncated
 * ListObjectsV2 with 500 InternalError (its continuation tokens need DES, gone from OpenSSL 3).
 * 2,500 objects through the SDK's paginator, and through `npm run status` and `replay --dry-run`
 * (each command run as a child process, finding the bucket with `--local`).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ListObjectsCommand,
  ListObjectsV2Command,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3rverStore } from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineTables } from '#tools/local/dynamodb.ts';
import { describeLocalRun, writeLocalRun } from '#tools/local/local-dir.ts';
import { createLocalS3Client, PIPELINE_NOTIFICATIONS } from '#tools/local/s3.ts';
import { taggingResource } from '#tools/local/s3rver-tags.ts';
import { type LocalStorage, startLocalStorage } from '#tools/local/storage-worker.ts';
import type { StatusReport } from '#tools/ops/bucket-status.ts';
import type { ReplayResult } from '#tools/ops/requeue.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const BUCKET = 'inbox';
const LEDGER_TABLE = 's3-to-zoho-idempotency';
const RECORD = '1234567890123456789';
const COUNT = 2_500;
/** Every 100th object failed, the rest done: 25 failures for status and replay to find. */
const FAILED_EVERY = 100;

/** In its worker thread, as npm start runs it: the clients here and s3rver there get a core each. */
let storage: LocalStorage;
let client: S3Client;
let directory: string;
const keys = Array.from(
  { length: COUNT },
  (_, index) => `attachments/Leads/${RECORD}/invoice-${String(index).padStart(5, '0')}.pdf`,
);

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'local-s3-listing-'));
  await seed(directory);
  storage = await startLocalStorage({ directory, bucket: BUCKET });
  client = createLocalS3Client(storage.s3.endpoint);
}, 60_000);

/**
 * The objects, written by s3rver's own store as its PUT would write them (content, metadata, MD5,
 * tags): 2,500 PUTs over HTTP would take most of the test's time on this listing's account.
 */
async function seed(root: string): Promise<void> {
  const require = createRequire(import.meta.url);
  const Store = require('s3rver/lib/stores/filesystem.js') as new (
    root: string,
  ) => S3rverStore & {
    putBucket(bucket: string): Promise<unknown>;
    putObject(object: unknown): Promise<unknown>;
  };
  const S3Object = require('s3rver/lib/models/object.js') as new (
    bucket: string,
    key: string,
    content: Buffer,
    metadata: Record<string, string>,
  ) => unknown;
  const store = new Store(root);
  await store.putBucket(BUCKET);
  await inParallel(keys, 50, async (key, index) => {
    await store.putObject(new S3Object(BUCKET, key, Buffer.from('x'), { 'content-type': 'application/pdf' }));
    const failed = index % FAILED_EVERY === 0;
    const tags: Array<[string, string]> = failed
      ? [
          ['zoho-status', 'failed'],
          ['zoho-error', 'RECORD_LOCKED'],
        ]
      : [['zoho-status', 'done']];
    await store.putSubresource(BUCKET, key, taggingResource(tags));
  });
}

afterAll(async () => {
  client.destroy();
  await storage.dynamo.close();
  await rm(directory, { recursive: true, force: true });
});

async function listAll(
  pageSize?: number,
  prefix = 'attachments/',
): Promise<{ keys: string[]; pages: number }> {
  const listed: string[] = [];
  let pages = 0;
  const paginator = paginateListObjectsV2(
    { client, ...(pageSize ? { pageSize } : {}) },
    { Bucket: BUCKET, Prefix: prefix },
  );
  for await (const page of paginator) {
    pages += 1;
    listed.push(...(page.Contents ?? []).map((entry) => entry.Key ?? ''));
  }
  return { keys: listed, pages };
}

describe('ListObjectsV2 on the local bucket', () => {
  it('pages through 2,500 objects 1,000 at a time, every key once and in order', async () => {
    const { keys: listed, pages } = await listAll();
    expect(pages).toBe(3);
    expect(listed).toEqual(keys);
  });

  it('pages with a small MaxKeys, as `aws s3api list-objects-v2 --max-items` does', async () => {
    const { keys: listed, pages } = await listAll(7, `attachments/Leads/${RECORD}/invoice-000`);
    expect(listed).toEqual(keys.slice(0, 100));
    expect(pages).toBe(Math.ceil(100 / 7));
  });

  it('says what S3 says on a truncated page, and takes StartAfter and a delimiter', async () => {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'attachments/', MaxKeys: 2, StartAfter: keys[9] }),
    );
    expect(page).toMatchObject({
      IsTruncated: true,
      KeyCount: 2,
      MaxKeys: 2,
      StartAfter: keys[9],
      Contents: [{ Key: keys[10], Size: 1 }, { Key: keys[11] }],
    });
    expect(page.NextContinuationToken).toEqual(expect.any(String));
    const next = await client.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: 'attachments/',
        MaxKeys: 1,
        ContinuationToken: page.NextContinuationToken,
      }),
    );
    expect(next.Contents?.map((entry) => entry.Key)).toEqual([keys[12]]);
    expect(next.ContinuationToken).toBe(page.NextContinuationToken);

    const folders = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'attachments/Leads/', Delimiter: '/' }),
    );
    expect(folders.CommonPrefixes).toEqual([{ Prefix: `attachments/Leads/${RECORD}/` }]);
    expect(folders.Contents ?? []).toEqual([]);
  });

  it('refuses a continuation token it did not give, as S3 does', async () => {
    await expect(
      client.send(
        new ListObjectsV2Command({
          Bucket: BUCKET,
          ContinuationToken: Buffer.from('nope').toString('base64'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidArgument' });
  });

  it('leaves ListObjects (v1) to s3rver, which pages with markers', async () => {
    const page = await client.send(
      new ListObjectsCommand({ Bucket: BUCKET, Prefix: 'attachments/', MaxKeys: 3 }),
    );
    expect(page.IsTruncated).toBe(true);
    expect(page.Contents?.map((entry) => entry.Key)).toEqual(keys.slice(0, 3));
  });

  it('lets npm run status and replay --dry-run, pointed at it with --local, count and select all 2,500', {
    timeout: 60_000,
  }, async () => {
    const localDir = join(directory, 'state');
    await mkdir(localDir);
    await writeLocalRun(localDir, {
      ...describeLocalRun(
        {
          bucket: BUCKET,
          s3Endpoint: storage.s3.endpoint,
          dynamodbEndpoint: storage.dynamo.endpoint,
          sqsEndpoint: 'http://127.0.0.1:9',
          ledgerTable: LEDGER_TABLE,
          zoho: { mode: 'real', dc: 'us' },
          // Nothing listens there: a dry run sends nothing.
          queueUrls: {
            attachment: 'http://127.0.0.1:9/000000000000/s3-to-zoho-attachments',
            photo: 'http://127.0.0.1:9/000000000000/s3-to-zoho-photos',
            'bulk-write': 'http://127.0.0.1:9/000000000000/s3-to-zoho-bulk-write',
          },
        },
        PIPELINE_NOTIFICATIONS,
      ),
    });
    await createPipelineTables(storage.dynamo.client, {
      tokenTable: 'tokens',
      idempotencyTable: LEDGER_TABLE,
    });
    const command = (script: string, args: string[]) =>
      run(process.execPath, [join(ROOT, 'scripts/ops', script), '--local', ...args], {
        cwd: ROOT,
        env: { ...process.env, LOCAL_DIR: localDir },
      });
    const [status, replay] = await Promise.all([
      command('status.ts', ['--prefix', 'attachments/', '--json', '--failures', '0', '--concurrency', '32']),
      command('replay.ts', ['--prefix', 'attachments/', '--dry-run', '--json', '--concurrency', '32']),
    ]);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.prefixes).toEqual([
      expect.objectContaining({
        prefix: 'attachments/',
        total: COUNT,
        counts: expect.objectContaining({ done: COUNT - COUNT / FAILED_EVERY, failed: COUNT / FAILED_EVERY }),
      }),
    ]);
    expect(report.failedTotal).toBe(COUNT / FAILED_EVERY);
    const replayed = JSON.parse(replay.stdout) as ReplayResult & { dryRun: boolean };
    expect(replayed).toMatchObject({ dryRun: true, scanned: COUNT, sent: [], lastKey: keys.at(-1) });
    expect(replayed.selected.map((target) => target.key)).toEqual(
      keys.filter((_, index) => index % FAILED_EVERY === 0),
    );
  });
});

async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<unknown>,
) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}
