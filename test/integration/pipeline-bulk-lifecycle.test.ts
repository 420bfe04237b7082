/**
 * A bulk import's life against the real pieces: replay in a versioned bucket, a follow that ends
 * on a permanent Zoho error, a job that never finishes (expired, then replayed: followed again, not made again), duplicated
 * follow-ups, looks that make no S3 call while the jobs run, an object deleted or overwritten
 * while its jobs ran, and the bounds that refuse an import before any Zoho call.
 *
 * Versioning: s3rver keeps no versions, so the versioned path is driven by events that carry a
 * versionId, as S3 sends them from a versioned bucket. The pipeline takes the version from the
 * event (HeadObject answers none here), so the write id, the ledger key and the import record are
 * exactly those of a versioned bucket; only the bytes are not pinned to a version by s3rver.
 */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLAY_CONFIGURATION_ID } from '#lib/s3/event.ts';
import { createLambdaContext, toSqsRecord } from '#tools/local/event-source.ts';
import type { ReceivedMessage } from '#tools/local/queue.ts';
import { buildZip, csvText } from '../unit/inspect-fixtures.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';

const HOUR = 3_600_000;
let h: Harness;

beforeAll(async () => {
  // Jobs take an hour of sandbox time per step: only clock moves finish them.
  h = await startHarness({
    bulkJobStepMs: HOUR,
    env: { BULK_MAX_FOLLOW_SECONDS: '5', BULK_MAX_ROWS: '100', BULK_MAX_INFLATED_BYTES: String(64 * 1024) },
  });
});
afterAll(() => h?.close());

/** The event S3 sends for a versioned bucket: the same, with the version named. */
function versioned(event: S3Event, versionId: string): S3Event {
  const [record] = event.Records;
  if (!record) throw new Error('no record');
  return { Records: [{ ...record, s3: { ...record.s3, object: { ...record.s3.object, versionId } } }] };
}

/** What `npm run replay` sends for the object: S3's event, marked with the replay's configuration id. */
function replayEvent(event: S3Event): S3Event {
  const [record] = event.Records;
  if (!record) throw new Error('no record');
  return { Records: [{ ...record, s3: { ...record.s3, configurationId: REPLAY_CONFIGURATION_ID } }] };
}

/** The next follow-up on the bulk queue (they are delayed by BULK_POLL_SECONDS). */
async function nextFollowUp() {
  for (let tries = 0; tries < 50; tries++) {
    const [message] = h.bulkQueue.receive(1);
    if (message) return message;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no follow-up was sent');
}

/** Runs one follow-up through the bulk handler, as the queue would, and deletes it. */
async function runFollowUp(message: ReceivedMessage) {
  const context = createLambdaContext({ functionName: 's3-to-zoho-bulk-write', timeoutMs: 60_000 });
  await h.handlers['bulk-write']({ Records: [toSqsRecord(message, h.bulkQueue.arn)] }, context);
  h.bulkQueue.delete(message.receiptHandle);
}

/** Lets the sandbox's jobs end: two steps of its clock. */
const finishJobs = () => h.sandbox.clock.advance(2 * HOUR + 1);

describe('bulk import lifecycle', () => {
  it('replays a failed import in a versioned bucket: a new attempt makes new jobs and lands', async () => {
    const key = 'bulk-write/Leads/insert/versioned.zip';
    const zip = await buildZip([{ name: 'v.csv', data: csvText(3) }]);
    const event = versioned(await h.put(key, zip), 'v1');
    h.sandbox.faults.set({ failBulkJobs: 1 });
    try {
      await h.deliver('bulk-write', event);
    } finally {
      h.sandbox.faults.reset();
    }
    finishJobs();
    const failed = await h.followBulk(key);
    expect(failed).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'BULK_JOB_FAILED' });

    // The same event again (a duplicate delivery) does nothing: only a replay starts again.
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    await h.deliver('bulk-write', event);
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore);

    await h.deliver('bulk-write', replayEvent(event));
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore + 1);
    finishJobs();
    const landed = await h.followBulk(key);
    expect(landed).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '3', 'zoho-failed': '0' });
    expect(landed['zoho-id']).not.toBe(failed['zoho-id']);
  });

  it('ends an import whose job Zoho no longer knows as failed, with Zoho’s code, not retried forever', async () => {
    const key = 'bulk-write/Leads/insert/lost-job.zip';
    await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'l.csv', data: csvText(2) }])));
    h.sandbox.faults.set({
      failNext: [{ status: 400, code: 'RESOURCE_NOT_FOUND', path: '/crm/bulk/v8/write/' }],
    });
    try {
      const tags = await h.followBulk(key);
      expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'RESOURCE_NOT_FOUND' });
      expect(h.bulkQueue.receive(10)).toEqual([]);
    } finally {
      h.sandbox.faults.reset();
    }
  });

  it('ends an import whose jobs never finish as expired after the deadline, and a replay follows them again', async () => {
    const key = 'bulk-write/Leads/insert/never.zip';
    const zip = await buildZip([{ name: 'n.csv', data: csvText(2) }]);
    const event = versioned(await h.put(key, zip), 'v7');
    await h.deliver('bulk-write', event);
    const expired = await h.followBulk(key);
    expect(expired).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'BULK_IMPORT_EXPIRED' });
    expect(expired['zoho-reason']).toMatch(/had not ended/);

    // The replay looks at the job again: still running, it is followed, not made a second time.
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    await h.deliver('bulk-write', replayEvent(event));
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore);
    finishJobs();
    const done = await h.followBulk(key);
    expect(done).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '2' });
    expect(done['zoho-id']).toBe(expired['zoho-id']);
  });

  it('makes no S3 call on a look that finds the jobs running; the look that records the outcome reads the object', async () => {
    const key = 'bulk-write/Leads/insert/quiet-looks.zip';
    await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'q.csv', data: csvText(2) }])));
    const calls: string[] = [];
    const middleware = 'count-bulk-s3-calls';
    h.deps['bulk-write'].s3.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize', name: middleware },
    );
    try {
      // The jobs never end: the looks go on (one a second) until the deadline (5 s) expires the import.
      let running = 0;
      for (;;) {
        await runFollowUp(await nextFollowUp());
        if ((await h.tags(key))['zoho-status'] !== 'pushing') break;
        expect(calls.splice(0)).toEqual([]);
        running += 1;
      }
      expect(running).toBeGreaterThanOrEqual(2);
      expect(await h.tags(key)).toMatchObject({
        'zoho-status': 'failed',
        'zoho-error': 'BULK_IMPORT_EXPIRED',
      });
      expect(calls[0]).toBe('HeadObjectCommand');
      expect(calls).toContain('PutObjectTaggingCommand');
    } finally {
      h.deps['bulk-write'].s3.middlewareStack.remove(middleware);
    }
  });

  it('drops the import of an object deleted while its jobs ran: no outcome, no results, no more looks', async () => {
    const key = 'bulk-write/Leads/insert/deleted.zip';
    await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'g.csv', data: csvText(2) }])));
    await h.s3.send(new DeleteObjectCommand({ Bucket: h.bucket, Key: key }));
    finishJobs();
    await runFollowUp(await nextFollowUp());
    await expect(h.read(`bulk-write-results/${key}.results.csv`)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(h.bulkQueue.receive(10)).toEqual([]);
  });

  it('writes nothing on an object overwritten (unversioned bucket) while its jobs ran: the newer event imports it', async () => {
    const key = 'bulk-write/Leads/insert/overwritten.zip';
    await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'o.csv', data: csvText(2) }])));
    const newer = await h.put(key, await buildZip([{ name: 'o.csv', data: csvText(3) }]));
    finishJobs();
    await runFollowUp(await nextFollowUp());
    expect((await h.tags(key))['zoho-status']).toBeUndefined();
    await expect(h.read(`bulk-write-results/${key}.results.csv`)).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(h.bulkQueue.receive(10)).toEqual([]);

    await h.deliver('bulk-write', newer);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '3' });
  });

  it('drops a duplicated follow-up instead of doubling the polling chain', async () => {
    const key = 'bulk-write/Leads/insert/dup-follow.zip';
    await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'd.csv', data: csvText(2) }])));
    const message = await nextFollowUp();
    const record = toSqsRecord(message, h.bulkQueue.arn);
    const context = createLambdaContext({ functionName: 's3-to-zoho-bulk-write', timeoutMs: 60_000 });
    await h.handlers['bulk-write']({ Records: [record] }, context);
    await h.handlers['bulk-write']({ Records: [{ ...record, messageId: 'duplicate' }] }, context);
    h.bulkQueue.delete(message.receiptHandle);
    // One look went on: exactly one follow-up is waiting.
    await nextFollowUp();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(h.bulkQueue.receive(10)).toEqual([]);
  });

  it.each([
    ['a ZIP bomb: more rows than BULK_MAX_ROWS', () => csvText(101), 'BULK_TOO_MANY_ROWS'],
    [
      'a CSV that unzips past BULK_MAX_INFLATED_BYTES',
      () => `Last_Name,Description\r\nA,${'x'.repeat(70 * 1024)}\r\n`,
      'BULK_TOO_LARGE_INFLATED',
    ],
    ['a header with empty names (,,)', () => 'Last_Name,,Email\r\nA,,a@example.com\r\n', 'CSV_EMPTY_HEADER'],
  ])('refuses %s before any Zoho call', async (_what, csv, code) => {
    const key = `bulk-write/Leads/insert/refused-${code}.zip`;
    const event = await h.put(key, await buildZip([{ name: 'r.csv', data: csv() }]));
    const calls = h.sandbox.inspect().requests.length;
    expect(await h.deliver('bulk-write', event)).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': code });
    expect(h.sandbox.inspect().requests.length).toBe(calls);
  });

  it('refuses an update without find_by or an id column before any Zoho call, and takes one with an id column', async () => {
    const key = 'bulk-write/Leads/update/no-find-by.zip';
    const event = await h.put(
      key,
      await buildZip([{ name: 'u.csv', data: 'Email,Last_Name\r\na@example.com,A\r\n' }]),
    );
    const calls = h.sandbox.inspect().requests.length;
    await h.deliver('bulk-write', event);
    expect(await h.tags(key)).toMatchObject({
      'zoho-status': 'failed',
      'zoho-error': 'BULK_UPDATE_NEEDS_FIND_BY',
    });
    expect(h.sandbox.inspect().requests.length).toBe(calls);

    const id = h.sandbox.inspect().records.Leads?.[0]?.id;
    const byId = 'bulk-write/Leads/update/by-id.zip';
    await h.deliver(
      'bulk-write',
      await h.put(byId, await buildZip([{ name: 'i.csv', data: `id,Last_Name\r\n${id},Renamed\r\n` }])),
    );
    finishJobs();
    expect(await h.followBulk(byId)).toMatchObject({ 'zoho-status': 'done', 'zoho-updated': '1' });
  });
});
