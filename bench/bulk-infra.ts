/**
 * Everything the bulk function talks to, in a process of its own so none of its memory is
 * counted as the function's: the Zoho sandbox, an embedded S3 (s3rver) and DynamoDB (dynalite).
 * Speaks to bench/bulk.ts over IPC: `put` makes and stores a ZIP or a bare CSV of N rows, `latency` sets the
 * sandbox's delay before each call, `count` checks every row landed exactly once, `close` stops.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ZipFile } from 'yazl';
import { startSandbox } from '#sandbox/server.ts';
import { createPipelineTables, startLocalDynamoDb } from '#tools/local/dynamodb.ts';
import { createLocalS3Client, startLocalS3 } from '#tools/local/s3.ts';

export const BUCKET = 'bench';

const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-bench-'));
const s3 = await startLocalS3({ directory: dir, bucket: BUCKET });
const dynamo = await startLocalDynamoDb();
await createPipelineTables(dynamo.client, {
  tokenTable: 'tokens',
  idempotencyTable: 'ledger',
  importsTable: 'imports',
});
const sandbox = await startSandbox({ port: 0, bulkJobStepMs: 50, concurrencyLimit: 10 });
const client = createLocalS3Client(s3.endpoint);

/** Rows `Last_Name,Email,Description`, made as they are read, emails unique per run. */
function* rows(count: number, tag: string): Generator<string> {
  yield 'Last_Name,Email,Description\r\n';
  for (let i = 0; i < count; i += 1) yield `Name ${i},${tag}-${i}@example.com,row ${i} of the bench\r\n`;
}

/** How the rows are dropped: one ZIP holding the CSV, or the bare CSV. */
export type BulkFormat = 'zip' | 'csv';

async function put(key: string, count: number, tag: string, format: BulkFormat): Promise<number> {
  const csv = Readable.from(rows(count, tag));
  const path = join(dir, `upload.${format}`);
  if (format === 'csv') await pipeline(csv, createWriteStream(path));
  else {
    const zip = new ZipFile();
    zip.addReadStream(csv, 'bench.csv');
    zip.end();
    await pipeline(zip.outputStream as Readable, createWriteStream(path));
  }
  const { size } = await stat(path);
  // A buffer: s3rver does not decode the aws-chunked body the SDK sends for a stream.
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(path) }));
  await rm(path);
  return size;
}

process.on(
  'message',
  async (message: {
    type: string;
    key?: string;
    rows?: number;
    tag?: string;
    format?: BulkFormat;
    ms?: number;
  }) => {
    try {
      if (message.type === 'put') {
        const size = await put(
          message.key as string,
          message.rows as number,
          message.tag as string,
          message.format ?? 'zip',
        );
        process.send?.({ type: 'put', size });
      } else if (message.type === 'latency') {
        sandbox.faults.set({ latencyMs: message.ms ?? 0 });
        process.send?.({ type: 'latency' });
      } else if (message.type === 'count') {
        const prefix = `${message.tag}-`;
        const emails = (sandbox.inspect().records.Leads ?? [])
          .map((r) => String(r.Email ?? ''))
          .filter((e) => e.startsWith(prefix));
        process.send?.({ type: 'count', total: emails.length, distinct: new Set(emails).size });
      } else if (message.type === 'close') {
        await sandbox.close();
        await dynamo.close();
        await s3.close();
        await rm(dir, { recursive: true, force: true });
        process.exit(0);
      }
    } catch (error) {
      process.send?.({ type: 'error', message: error instanceof Error ? error.stack : String(error) });
    }
  },
);

process.send?.({
  type: 'ready',
  env: {
    ZOHO_ACCOUNTS_URL: sandbox.accountsUrl,
    ZOHO_API_URL: sandbox.apiUrl,
    ZOHO_UPLOAD_URL: sandbox.uploadUrl,
    S3_ENDPOINT: s3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    TOKEN_TABLE: 'tokens',
    IDEMPOTENCY_TABLE: 'ledger',
    IMPORTS_TABLE: 'imports',
    AWS_REGION: 'us-east-1',
  },
  credentials: sandbox.credentials,
});
