/**
 * `npm start`'s pipeline for a newcomer: a taken port is a clear error, a key the embedded S3
 * cannot store is refused with a reason and the run goes on, a key under no watched prefix is
 * said, not silently ignored.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readTagMap } from '#lib/s3/tags.ts';
import { formatLanding } from '#tools/local/console.ts';
import {
  DEFAULT_DIRECTORY,
  type Landing,
  type LocalPipeline,
  startLocalPipeline,
} from '#tools/local/pipeline.ts';
import { createLocalS3Client, type LocalS3Notice } from '#tools/local/s3.ts';
import { sampleBulkZip } from '#tools/local/samples.ts';
import { buildZip } from '../unit/inspect-fixtures.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const SANDBOX_ENV = { ZOHO_CLIENT_ID: '', ZOHO_CLIENT_SECRET: '', ZOHO_REFRESH_TOKEN: '' };
const directories: string[] = [];

async function directory(): Promise<string> {
  const created = await mkdtemp(path.join(os.tmpdir(), 'local-pipeline-'));
  directories.push(created);
  return created;
}

afterAll(async () => {
  for (const created of directories) await rm(created, { recursive: true, force: true });
});

describe('npm start objects directory', () => {
  it('is .local/s3 at the project root, which .gitignore leaves out', () => {
    const root = path.join(import.meta.dirname, '../..');
    expect(DEFAULT_DIRECTORY).toBe(path.join(root, '.local', 's3'));
  });
});

describe('npm start when the S3 port is taken', () => {
  let blocker: Server;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => blocker.close(() => resolve())));

  it('fails with EADDRINUSE and the port, which the start script turns into a sentence', async () => {
    const port = (blocker.address() as { port: number }).port;
    await expect(
      startLocalPipeline({
        s3Port: port,
        dynamodbPort: 0,
        sqsPort: 0,
        sandboxPort: 0,
        directory: await directory(),
        logLevel: 'SILENT',
        env: SANDBOX_ENV,
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE', port });
  });
});

describe('npm start with keys it cannot or need not push', () => {
  let pipeline: LocalPipeline;
  let s3: S3Client;
  const notices: LocalS3Notice[] = [];
  const landings: Landing[] = [];
  let leadId = '';

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      s3Port: 0,
      dynamodbPort: 0,
      sqsPort: 0,
      sandboxPort: 0,
      directory: await directory(),
      logLevel: 'SILENT',
      sendTestEvents: false,
      env: { ...SANDBOX_ENV, PUSH_RETRY_BASE_MS: '200' },
    });
    pipeline.on('notice', (notice) => notices.push(notice));
    pipeline.on('landed', (landing) => landings.push(landing));
    s3 = createLocalS3Client(pipeline.s3Endpoint);
    leadId = pipeline.sandbox?.seed.Leads?.[0] ?? '';
  }, 60_000);
  afterAll(async () => {
    s3?.destroy();
    await pipeline?.close();
  });

  const put = (key: string) =>
    s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key: key, Body: `bytes of ${key}` }));

  it('refuses a file name too long for its disk with a reason, and keeps pushing the next files', async () => {
    const longName = `${'n'.repeat(240)}.pdf`;
    await expect(put(`attachments/Leads/${leadId}/${longName}`)).rejects.toMatchObject({
      name: 'KeyTooLongError',
      message: expect.stringMatching(
        /244 bytes, over the 233 it can store \(S3 itself allows keys of up to 1024/,
      ),
    });
    // The notice comes from the storage worker as a message, maybe after the PUT's answer.
    await vi.waitFor(() =>
      expect(notices).toContainEqual(
        expect.objectContaining({ type: 'refused', key: `attachments/Leads/${leadId}/${longName}` }),
      ),
    );

    await put(`attachments/Leads/${leadId}/after.pdf`);
    await vi.waitFor(
      () => expect(landings.find((landing) => landing.key.endsWith('/after.pdf'))?.status).toBe('done'),
      { timeout: 30_000, interval: 50 },
    );
  });

  it('takes a file for a file-upload field under fields/ through the attachment queue', async () => {
    const key = `fields/Leads/${leadId}/Documents/brochure.pdf`;
    await put(key);
    await vi.waitFor(
      () => expect(landings.find((landing) => landing.key === key)).toMatchObject({ status: 'done' }),
      { timeout: 30_000, interval: 50 },
    );
    const inField = pipeline.sandbox?.inspect().fieldFiles.filter((f) => f.recordId === leadId);
    expect(inField?.map((f) => [f.field, f.fileName])).toEqual([['Documents', 'brochure.pdf']]);
    expect(notices.filter((notice) => notice.key === key)).toEqual([]);
  });

  it('takes a bulk CSV or an upper-case .ZIP under bulk-write/ and refuses anything else there with a reason', async () => {
    const csv = 'Last_Name,Email\r\nProbe,probe@example.com\r\n';
    const files: Array<[string, Buffer | string]> = [
      ['bulk-write/Leads/insert/probe.csv', csv],
      ['bulk-write/Leads/insert/PROBE.ZIP', await buildZip([{ name: 'probe.csv', data: csv }])],
      ['bulk-write/Leads/insert/probe.txt', csv],
    ];
    for (const [key, body] of files) {
      await s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key: key, Body: body }));
    }
    // A bulk import ends in a follow-up: its tags say when.
    const status = async (key: string) => (await readTagMap(s3, pipeline.bucket, key))['zoho-status'];
    for (const [key] of files) {
      await vi.waitFor(async () => expect(['done', 'failed']).toContain(await status(key)), {
        timeout: 20_000,
        interval: 100,
      });
    }
    expect(await status('bulk-write/Leads/insert/probe.csv')).toBe('done');
    expect(await status('bulk-write/Leads/insert/PROBE.ZIP')).toBe('done');
    expect(landings.find((landing) => landing.key === 'bulk-write/Leads/insert/probe.txt')).toMatchObject({
      status: 'failed',
      error: 'NOT_A_ZIP',
      reason: expect.stringContaining('"probe.txt" is neither a .zip nor a .csv'),
    });
    expect(notices.filter((notice) => notice.key.startsWith('bulk-write/'))).toEqual([]);
  });

  it('prints the reason in full as the handler recorded it; the tag holds its short form', async () => {
    const key = 'attachments/Contacts/by/Email/nobody@example.com/cv.txt';
    await put(key);
    await vi.waitFor(() => expect(landings.find((landing) => landing.key === key)?.status).toBe('failed'), {
      timeout: 30_000,
      interval: 50,
    });
    expect(landings.find((landing) => landing.key === key)).toMatchObject({
      error: 'LOOKUP_NO_MATCH',
      reason:
        'No Contacts record has Email equal to "nobody@example.com": create it, or name the record id in the key.',
    });
    const tags = await readTagMap(s3, pipeline.bucket, key);
    expect(tags['zoho-reason']).toBe(
      'No Contacts record has Email equal to nobody@example.com: create it or name the record id in the key.',
    );
  });

  it('says when a key is under no watched prefix, but not for the bulk write results', async () => {
    await put('inbox-typo/Leads/file.pdf');
    await put('bulk-write-results/bulk-write/Leads/insert/x.zip.results.csv');
    await vi.waitFor(() =>
      expect(notices).toContainEqual({
        type: 'unrouted',
        key: 'inbox-typo/Leads/file.pdf',
        reason: 'under no watched prefix (attachments/, fields/, photos/, bulk-write/)',
      }),
    );
    expect(notices.filter((notice) => notice.key.startsWith('bulk-write-results/'))).toEqual([]);
  });

  it('prints why a key under a watched prefix fits no route (skipped): the patterns it expected', async () => {
    const key = 'attachments/Leads/no-record-id.pdf';
    await put(key);
    await vi.waitFor(() => expect(landings.find((l) => l.key === key)?.status).toBe('skipped'), {
      timeout: 30_000,
      interval: 50,
    });
    const landing = landings.find((l) => l.key === key);
    expect(landing?.error).toBe('UNROUTED');
    expect(landing?.reason).toContain('attachments/{module}/{recordId}/{fileName}');
    expect(formatLanding(landing as Landing, '12:00:00')).toContain(
      `(UNROUTED: The key "${key}" matches no route. Expected one of: attachments/{module}/by/{field}/{value}/{fileName}`,
    );
  });

  it('prints a bulk import when it starts and when it is done, with its counts and results', async () => {
    const key = 'bulk-write/Leads/insert/console.zip';
    const rows = [
      ['Last_Name', 'Email'],
      ...Array.from({ length: 50 }, (_, i) => [`Row ${i}`, `row${i}@example.com`]),
    ];
    await s3.send(
      new PutObjectCommand({
        Bucket: pipeline.bucket,
        Key: key,
        Body: await sampleBulkZip('leads.csv', rows),
      }),
    );
    await vi.waitFor(
      () => expect(landings.filter((l) => l.key === key).map((l) => l.status)).toEqual(['pushing', 'done']),
      { timeout: 30_000, interval: 50 },
    );
    const done = landings.find((l) => l.key === key && l.status === 'done') as Landing;
    expect(done.bulk).toEqual({
      added: 50,
      updated: 0,
      skipped: 0,
      failed: 0,
      results: `bulk-write-results/${key}.results.csv`,
      failedRows: undefined,
    });
    expect(formatLanding(done, '12:00:00')).toContain(
      `(done, 50 added, 0 failed, results at s3://${pipeline.bucket}/bulk-write-results/${key}.results.csv, zoho id `,
    );
  });

  it('prints a retry within the run when it is decided, with its wait and its cause', async () => {
    const key = `attachments/Leads/${leadId}/throttled.pdf`;
    // The first upload to the record's attachments is throttled, once.
    pipeline.sandbox?.faults.set({
      failNext: [{ status: 429, code: 'TOO_MANY_REQUESTS', path: `/Leads/${leadId}/Attachments`, times: 1 }],
    });
    try {
      await put(key);
      await vi.waitFor(
        () =>
          expect(landings.filter((l) => l.key === key).map((l) => l.status)).toEqual(['retrying', 'done']),
        { timeout: 20_000, interval: 50 },
      );
    } finally {
      pipeline.sandbox?.faults.reset();
    }
    const retrying = landings.find((l) => l.key === key && l.status === 'retrying') as Landing;
    expect(retrying.error).toBe('TOO_MANY_REQUESTS');
    expect(retrying.retryInMs).toBeGreaterThanOrEqual(0);
    expect(retrying.retryInMs).toBeLessThanOrEqual(2_000);
    expect(formatLanding(retrying, '12:00:00')).toMatch(/\(retrying in \d+(\.\d)? s: TOO_MANY_REQUESTS/);
  });

  it('prints the message going back to the queue, after the visibility timeout, once the run’s tries are spent', async () => {
    const key = `attachments/Leads/${leadId}/always-throttled.pdf`;
    pipeline.sandbox?.faults.set({
      failNext: [{ status: 429, code: 'TOO_MANY_REQUESTS', path: `/Leads/${leadId}/Attachments`, times: 4 }],
    });
    try {
      await put(key);
      await vi.waitFor(() => expect(landings.filter((l) => l.key === key)).toHaveLength(4), {
        timeout: 20_000,
        interval: 50,
      });
    } finally {
      pipeline.sandbox?.faults.reset();
    }
    const told = landings.filter((l) => l.key === key);
    expect(told.map((l) => l.status)).toEqual(['retrying', 'retrying', 'retrying', 'retrying']);
    // Three waits within the run, then the queue's: the attachment function's timeout (300 s) here.
    expect(told.slice(0, 3).every((l) => (l.retryInMs ?? Infinity) < 10_000)).toBe(true);
    expect(told[3]?.retryInMs).toBe(300_000);
    expect(formatLanding(told[3] as Landing, '12:00:00')).toContain('(retrying in 300 s: ');
  });
});
