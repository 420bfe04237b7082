/**
 * A replay resumes a bulk import, it never redoes what Zoho did: the probe (an insert in
 * several parts, one job FAILED; an import expired while its jobs ran on) replayed as `npm run
 * replay` does it (the tool's scan and S3 event on the bulk queue), against the sandbox, in an
 * unversioned bucket (s3rver's, as `npm start` runs it).
 *
 * Scaled down for `npm test`: 12 rows in parts of 5, 5 and 2 (the probe's 25,000, 25,000 and
 * 10,000). The probe at full size, 60,000 rows in parts of 25,000:
 *   BULK_REPLAY_PROBE=full npx vitest run test/integration/pipeline-bulk-replay.test.ts
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCED_REPLAY_ID } from '#lib/s3/event.ts';
import { headObject } from '#lib/s3/object.ts';
import { createLambdaContext, toSqsRecord } from '#tools/local/event-source.ts';
import { S3RVER_CREDENTIALS } from '#tools/local/s3.ts';
import { replayObjects, s3EventFor } from '#tools/ops/requeue.ts';
import { buildZip } from '../unit/inspect-fixtures.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';

const FULL = process.env.BULK_REPLAY_PROBE === 'full';
const ROWS = FULL ? 60_000 : 12;
const PER_PART = FULL ? 25_000 : 5;
const PARTS = Math.ceil(ROWS / PER_PART);
const TIMEOUT = FULL ? 600_000 : 60_000;
const HOUR = 3_600_000;

let h: Harness;
let sqs: SQSClient;

beforeAll(async () => {
  // Jobs take an hour of sandbox time per step: only clock moves end them (finishJobs).
  h = await startHarness({
    bulkJobStepMs: HOUR,
    env: { BULK_ROWS_PER_PART: String(PER_PART), BULK_MAX_FOLLOW_SECONDS: '2' },
  });
  sqs = new SQSClient({ endpoint: h.sqsUrl, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
}, TIMEOUT);
afterAll(async () => {
  sqs?.destroy();
  await h?.close();
});

/** Lets every sandbox job created so far end: two steps of its clock. */
const finishJobs = () => h.sandbox.clock.advance(2 * HOUR + 1);

/** A CSV of `rows` Leads, each with an email of its own under `tag`. */
function leadsCsv(tag: string, rows: number): string {
  const lines = ['Last_Name,Email'];
  for (let i = 0; i < rows; i++) lines.push(`Lead ${i},${tag}-${i}@example.com`);
  return `${lines.join('\r\n')}\r\n`;
}

/** The sandbox's Leads of this probe: how many, and how many distinct emails. */
function leadsOf(tag: string) {
  const emails = (h.sandbox.inspect().records.Leads ?? [])
    .map((lead) => String(lead.Email))
    .filter((email) => email.startsWith(`${tag}-`));
  return { count: emails.length, distinct: new Set(emails).size };
}

const jobCount = () => h.sandbox.inspect().bulkJobs.length;

/** The full-size probe prints its figures (for BENCHMARKS-style notes); the scaled one stays quiet. */
function report(what: string, figures: Record<string, unknown>) {
  if (FULL) process.stdout.write(`probe ${what}: ${JSON.stringify(figures)}\n`);
}

/** `npm run replay -- --prefix <key>` (`--force` when asked), then the handler runs what it queued. */
async function replay(key: string, force = false) {
  const result = await replayObjects({
    s3: h.s3,
    sqs,
    bucket: h.bucket,
    prefix: key,
    queueUrl: h.bulkQueueUrl,
    force,
  });
  expect(result.sent).toEqual([key]);
  const messages = h.bulkQueue.receive(10);
  expect(messages).toHaveLength(1);
  await h.handlers['bulk-write'](
    { Records: messages.map((m) => toSqsRecord(m, h.bulkQueue.arn)) },
    createLambdaContext({ functionName: 's3-to-zoho-bulk-write', timeoutMs: TIMEOUT }),
  );
  for (const m of messages) h.bulkQueue.delete(m.receiptHandle);
}

const pick = (tags: Record<string, string>) =>
  Object.fromEntries(
    ['zoho-status', 'zoho-error', 'zoho-added', 'zoho-failed', 'zoho-parts'].map((k) => [k, tags[k]]),
  );

async function resultRows(tags: Record<string, string>) {
  return parse(await h.read(tags['zoho-results'] ?? ''), { columns: true }) as Array<Record<string, string>>;
}

/**
 * The probe's end: exactly one Lead per input row in the sandbox, and results.csv holding every
 * input row once, in order, landed, with the record the attempt that settled it made.
 */
async function expectEveryRowOnce(
  what: string,
  tag: string,
  first: Record<string, string>,
  done: Record<string, string>,
  jobs: { before: number; after: number },
) {
  const leads = leadsOf(tag);
  report(what, { first: pick(first), replayed: pick(done), jobs, leads });
  expect(leads).toEqual({ count: ROWS, distinct: ROWS });
  const rows = await resultRows(done);
  expect(rows.map((r) => r.Email)).toEqual(Array.from({ length: ROWS }, (_, i) => `${tag}-${i}@example.com`));
  expect(rows.every((r) => r.STATUS === 'ADDED' && r.ERRORS === '')).toBe(true);
  const ids = new Set((h.sandbox.inspect().records.Leads ?? []).map((lead) => String(lead.id)));
  expect(new Set(rows.map((r) => r.RECORD_ID)).size).toBe(ROWS);
  expect(rows.every((r) => ids.has(r.RECORD_ID ?? ''))).toBe(true);
}

/** Drops the probe's ZIP and starts its jobs; with `failOneJob`, the first job made ends FAILED. */
async function firstAttempt(tag: string, key: string, options: { failOneJob?: boolean } = {}) {
  const event = await h.put(key, await buildZip([{ name: `${tag}.csv`, data: leadsCsv(tag, ROWS) }]));
  if (options.failOneJob) h.sandbox.faults.set({ failBulkJobs: 1 });
  try {
    await h.deliver('bulk-write', event);
  } finally {
    h.sandbox.faults.reset();
  }
  expect((await h.tags(key))['zoho-parts']).toBe(String(PARTS));
}

describe('bulk replay resumes', () => {
  it(
    'replays a failed import: only the FAILED part gets a new job, every row lands once, done with the totals',
    async () => {
      const tag = 'probe-failed';
      const key = `bulk-write/Leads/insert/${tag}.zip`;
      await firstAttempt(tag, key, { failOneJob: true });
      finishJobs();
      const failed = await h.followBulk(key, TIMEOUT);
      expect(failed).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'BULK_JOB_FAILED' });
      const notLanded = Number(failed['zoho-failed']);
      expect(notLanded).toBeGreaterThan(0);
      expect(Number(failed['zoho-added'])).toBe(ROWS - notLanded);
      expect(leadsOf(tag).count).toBe(ROWS - notLanded);

      const jobsBefore = jobCount();
      await replay(key);
      expect(jobCount()).toBe(jobsBefore + 1);
      finishJobs();
      const done = await h.followBulk(key, TIMEOUT);
      expect(done).toMatchObject({
        'zoho-status': 'done',
        'zoho-added': String(ROWS),
        'zoho-failed': '0',
      });
      expect(done['zoho-failed-rows']).toBeUndefined();
      // The jobs that landed in the first attempt are still this import's, with the new one.
      const firstJobs = failed['zoho-id']?.split(' ') ?? [];
      const doneJobs = done['zoho-id']?.split(' ') ?? [];
      expect(doneJobs).toHaveLength(PARTS);
      expect(doneJobs.filter((id) => firstJobs.includes(id))).toHaveLength(PARTS - 1);
      await expectEveryRowOnce('failed', tag, failed, done, { before: jobsBefore, after: jobCount() });

      // Done is final: a replay leaves it, only --force writes the rows again.
      await h.deliver('bulk-write', await replayEventOf(key));
      expect(jobCount()).toBe(jobsBefore + 1);
      expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-id': done['zoho-id'] });
    },
    TIMEOUT,
  );

  it(
    'replays an import that expired while its jobs ran on: the jobs that completed since are collected, none made again',
    async () => {
      const tag = 'probe-expired';
      const key = `bulk-write/Leads/insert/${tag}.zip`;
      await firstAttempt(tag, key);
      const expired = await h.followBulk(key, TIMEOUT);
      expect(expired).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'BULK_IMPORT_EXPIRED' });
      finishJobs(); // the jobs end in Zoho after the import gave up on them
      const rowsBefore = leadsOf(tag).count;
      expect(rowsBefore).toBe(ROWS);

      const jobsBefore = jobCount();
      await replay(key);
      expect(jobCount()).toBe(jobsBefore);
      const done = await h.tags(key);
      expect(done).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS), 'zoho-failed': '0' });
      expect(done['zoho-id']).toBe(expired['zoho-id']);
      await expectEveryRowOnce('expired', tag, expired, done, { before: jobsBefore, after: jobCount() });
    },
    TIMEOUT,
  );

  it('follows again, with a new deadline, a job still running at the replay, and makes a new job only for one that FAILED', async () => {
    const tag = 'probe-running';
    const key = `bulk-write/Leads/insert/${tag}.zip`;
    await firstAttempt(tag, key, { failOneJob: true });
    expect((await h.followBulk(key))['zoho-error']).toBe('BULK_IMPORT_EXPIRED');
    h.sandbox.clock.advance(HOUR); // the jobs run on: IN PROGRESS
    const jobsBefore = jobCount();
    await replay(key);
    expect(jobCount()).toBe(jobsBefore);
    expect((await h.tags(key))['zoho-status']).toBe('pushing');

    finishJobs(); // one of them ends FAILED: the import fails again, its other parts landed
    const failed = await h.followBulk(key);
    expect(failed).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'BULK_JOB_FAILED' });
    await replay(key);
    expect(jobCount()).toBe(jobsBefore + 1);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    expect(leadsOf(tag)).toEqual({ count: ROWS, distinct: ROWS });
  });

  it('makes a new job for a part whose earlier job Zoho no longer knows (400 RESOURCE_NOT_FOUND)', async () => {
    const tag = 'probe-unknown';
    const key = `bulk-write/Leads/insert/${tag}.zip`;
    await firstAttempt(tag, key);
    const expired = await h.followBulk(key);
    expect(expired['zoho-error']).toBe('BULK_IMPORT_EXPIRED');
    const [lost, ...known] = expired['zoho-id']?.split(' ') ?? [];
    // crm-oas v8.0 bulk_write.json, GET /crm/bulk/v8/write/{job_id}: 400 RESOURCE_NOT_FOUND.
    h.sandbox.faults.set({
      failNext: [{ status: 400, code: 'RESOURCE_NOT_FOUND', path: `/crm/bulk/v8/write/${lost}` }],
    });
    const jobsBefore = jobCount();
    try {
      await replay(key);
    } finally {
      h.sandbox.faults.reset();
    }
    expect(jobCount()).toBe(jobsBefore + 1);
    finishJobs();
    const done = await h.followBulk(key);
    expect(done).toMatchObject({ 'zoho-status': 'done', 'zoho-failed': '0' });
    const jobs = done['zoho-id']?.split(' ') ?? [];
    expect(jobs).not.toContain(lost);
    expect(jobs.filter((id) => known.includes(id))).toEqual(known);
  });

  it('replays an import whose start failed while its parts uploaded: every part sent, once', async () => {
    const tag = 'probe-upload';
    const key = `bulk-write/Leads/insert/${tag}.zip`;
    // The first upload to arrive is refused; the parts after it may be uploaded already.
    h.sandbox.faults.set({
      failNext: [{ status: 400, code: 'INVALID_FILE_FORMAT', path: '/crm/v8/upload' }],
    });
    try {
      await h.deliver(
        'bulk-write',
        await h.put(key, await buildZip([{ name: 'u.csv', data: leadsCsv(tag, ROWS) }])),
      );
    } finally {
      h.sandbox.faults.reset();
    }
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed' });
    const jobsBefore = jobCount();
    await replay(key);
    expect(jobCount()).toBe(jobsBefore + PARTS);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    expect(leadsOf(tag)).toEqual({ count: ROWS, distinct: ROWS });
  });

  it('writes every row again on replay --force, a done import’s too (unversioned bucket, through the tool)', async () => {
    const tag = 'probe-forced';
    const key = `bulk-write/Leads/insert/${tag}.zip`;
    await firstAttempt(tag, key);
    finishJobs();
    const done = await h.followBulk(key);
    expect(done).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    const jobsBefore = jobCount();
    await replay(key, true);
    expect(jobCount()).toBe(jobsBefore + PARTS);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    expect(leadsOf(tag)).toEqual({ count: 2 * ROWS, distinct: ROWS });
  });

  it('writes a done import’s rows again on replay --force in a versioned bucket, and on that alone', async () => {
    const tag = 'probe-forced-versioned';
    const key = `bulk-write/Leads/insert/${tag}.zip`;
    await h.put(key, await buildZip([{ name: `${tag}.csv`, data: leadsCsv(tag, ROWS) }]));
    const versioned = await replayEventOf(key, { versionId: 'v1', configurationId: S3_EVENT_ID });
    await h.deliver('bulk-write', versioned);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    const jobsBefore = jobCount();
    await h.deliver('bulk-write', await replayEventOf(key, { versionId: 'v1' }));
    expect(jobCount()).toBe(jobsBefore);
    await h.deliver(
      'bulk-write',
      await replayEventOf(key, { versionId: 'v1', configurationId: FORCED_REPLAY_ID }),
    );
    expect(jobCount()).toBe(jobsBefore + PARTS);
    finishJobs();
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': String(ROWS) });
    expect(leadsOf(tag)).toEqual({ count: 2 * ROWS, distinct: ROWS });
  });
});

/** The configuration id of the bucket's own notification (any but the replay tool's). */
const S3_EVENT_ID = 'bulk-write';

/**
 * The event `npm run replay` sends for the object (its configuration id unless told another),
 * without the selection, which leaves a done object out; with a version, as from a versioned bucket.
 */
async function replayEventOf(key: string, options: { versionId?: string; configurationId?: string } = {}) {
  const object = await headObject(h.s3, { bucket: h.bucket, key });
  if (!object) throw new Error(`${key} is gone`);
  return s3EventFor(
    h.bucket,
    { ...object, versionId: options.versionId },
    {
      region: 'us-east-1',
      eventTime: new Date(),
      sequencer: Date.now().toString(16).toUpperCase().padStart(18, '0'),
      ...(options.configurationId ? { configurationId: options.configurationId } : {}),
    },
  );
}
