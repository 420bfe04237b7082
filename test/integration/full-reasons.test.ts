/**
 * Reasons stay readable: S3 tag values take no quotes, commas or brackets and at most 256
 * characters, so `zoho-reason` holds a short form; the handlers keep the full text in the ledger
 * table and `npm run status` shows it. Through the real handlers (s3rver, the sandbox, dynalite).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLog } from '#lib/log.ts';
import { fullReasonId, keepFullReason, readFullReasons } from '#lib/pipeline/full-reason.ts';
import { bucketStatus, formatStatus } from '#tools/ops/bucket-status.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');

let h: Harness;
let leadId: string;

beforeAll(async () => {
  h = await startHarness({ env: { PUSH_RETRY_BASE_MS: '20' } });
  leadId = h.sandbox.seed.Leads?.[0] ?? '';
});
afterAll(async () => {
  await h?.close();
});

async function keptItem(key: string) {
  const { Item } = await h.ledger.client.send(
    new GetItemCommand({
      TableName: h.ledger.tableName,
      Key: { id: { S: fullReasonId(h.bucket, key) } },
      ConsistentRead: true,
    }),
  );
  return Item;
}

async function failWith(key: string): Promise<Record<string, string>> {
  expect(await h.deliver('attachment', await h.put(key, 'a file'))).toEqual([]);
  const tags = await h.tags(key);
  expect(tags['zoho-status']).toBe('failed');
  return tags;
}

describe('a reason its tag cannot hold as it is', () => {
  const nobody = 'attachments/Contacts/by/Email/nobody@example.invalid/cv.txt';
  const twins = 'attachments/Accounts/by/Account_Name/Twin Peaks Ltd/deck.txt';
  const program = `attachments/Leads/${'1'.repeat(19)}/setup.exe`;
  const longName = `Someone ${'very '.repeat(40)}long`;
  const long = `attachments/Contacts/by/Last_Name/${longName}/note.txt`;
  const full: Record<string, string> = {};
  const tagged: Record<string, string> = {};

  beforeAll(async () => {
    h.sandbox.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd' });
    h.sandbox.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd' });
    const ids = h.sandbox
      .inspect()
      .records.Accounts?.filter((r) => r.Account_Name === 'Twin Peaks Ltd')
      .map((r) => String(r.id));
    full[nobody] =
      'No Contacts record has Email equal to "nobody@example.invalid": create it, or name the record id in the key.';
    full[twins] =
      `2 Accounts records have Account_Name equal to "Twin Peaks Ltd" (${ids?.join(', ')}): name the record id in the key.`;
    full[program] =
      '"setup.exe" is a .exe file; Zoho CRM refuses .exe attachments. Put it in a ZIP or use another format.';
    full[long] =
      `No Contacts record has Last_Name equal to "${longName}": create it, or name the record id in the key.`;
    for (const key of [nobody, twins, program, long])
      tagged[key] = (await failWith(key))['zoho-reason'] ?? '';
  });

  it('is tagged in a short form, and status shows the full text from the ledger', async () => {
    expect(tagged[nobody]).toBe(
      'No Contacts record has Email equal to nobody@example.invalid: create it or name the record id in the key.',
    );
    expect(tagged[program]).toBe(
      'setup.exe is a .exe file - Zoho CRM refuses .exe attachments. Put it in a ZIP or use another format.',
    );
    expect(tagged[long]).toHaveLength(256);
    expect(tagged[long]?.endsWith('...')).toBe(true);

    const report = await bucketStatus({ s3: h.s3, bucket: h.bucket, ledger: h.ledger, failureLimit: 50 });
    expect(report.fullReasons).toBe(true);
    const reasons = Object.fromEntries(report.failures.map((f) => [f.key, f.reason]));
    for (const key of [nobody, twins, program, long]) expect(reasons[key], key).toBe(full[key]);
    expect(formatStatus(report)).toContain(full[twins]);
    expect(formatStatus(report)).not.toContain('Reasons as their tags hold them');
  });

  it('keeps the time, status and code of the outcome beside it', async () => {
    const kept = await readFullReasons(h.ledger, h.bucket, [twins]);
    const tags = await h.tags(twins);
    expect(kept.get(twins)).toEqual({
      at: tags['zoho-at'],
      status: 'failed',
      code: 'LOOKUP_AMBIGUOUS',
      reason: full[twins],
    });
    const item = await keptItem(twins);
    const days = (Number(item?.expiration?.N) - Date.now() / 1000) / 86_400;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);
  });

  it("shows the tags' short form without the ledger table, and says so once", async () => {
    const report = await bucketStatus({ s3: h.s3, bucket: h.bucket, failureLimit: 50 });
    expect(report.fullReasons).toBe(false);
    const reasons = Object.fromEntries(report.failures.map((f) => [f.key, f.reason]));
    for (const key of [nobody, twins, program, long]) expect(reasons[key], key).toBe(tagged[key]);
    expect(formatStatus(report).match(/Reasons as their tags hold them/g)).toHaveLength(1);
  });

  it('shows the full text from the command line, pointed at a local DynamoDB as npm start prints it', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        join(ROOT, 'scripts/ops/status.ts'),
        ...['--bucket', h.bucket, '--endpoint', h.s3Endpoint, '--failures', '50'],
        ...['--dynamodb-endpoint', h.ledger.endpoint, '--ledger-table', h.ledger.tableName],
      ],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', AWS_EC2_METADATA_DISABLED: 'true' } },
    );
    expect(stdout).toContain(`${program}  FORBIDDEN_TYPE  ${full[program]}`);
    expect(stdout).toContain(full[nobody]);
  });
});

describe('what the status trusts', () => {
  it('ignores a full reason kept for an earlier outcome of the object (another zoho-at)', async () => {
    const key = `attachments/Leads/${'9'.repeat(19)}/stale.txt`;
    // An earlier outcome of the key kept its full text ...
    const earlier = {
      'zoho-status': 'failed',
      'zoho-at': '2026-01-01T10:00:00.000Z',
      'zoho-error': 'LOOKUP_NO_MATCH',
      'zoho-reason':
        'No Leads record has Email equal to "x@example.com": create it, or name the record id in the key.',
    };
    const store = { ledger: h.ledger, log: silentLog, now: () => new Date() };
    await keepFullReason(store, { bucket: h.bucket, key }, earlier);
    // ... the outcome on it now is a later one, whose reason its tag holds as it is (no new item).
    const tags = await failWith(key);
    expect((await keptItem(key))?.at?.S).toBe(earlier['zoho-at']);

    const report = await bucketStatus({ s3: h.s3, bucket: h.bucket, ledger: h.ledger, failureLimit: 50 });
    expect(report.failures.find((f) => f.key === key)?.reason).toBe(tags['zoho-reason']);
  });

  it('reads more full reasons than BatchGetItem takes in one call', async () => {
    const store = { ledger: h.ledger, log: silentLog, now: () => new Date() };
    const keys = Array.from({ length: 150 }, (_, i) => `many/${i}.txt`);
    for (const key of keys) {
      await keepFullReason(
        store,
        { bucket: h.bucket, key },
        {
          'zoho-status': 'failed',
          'zoho-at': '2026-01-01T10:00:00.000Z',
          'zoho-reason': `"${key}", one of many`,
        },
      );
    }
    const kept = await readFullReasons(h.ledger, h.bucket, keys);
    expect([...kept.keys()].sort()).toEqual([...keys].sort());
    expect(kept.get('many/149.txt')?.reason).toBe('"many/149.txt", one of many');
  });

  it('keeps nothing for a done push, nor for a reason its tag holds as it is', async () => {
    const done = `attachments/Leads/${leadId}/report, "final" (2).txt`;
    expect(await h.deliver('attachment', await h.put(done, 'fine'))).toEqual([]);
    expect((await h.tags(done))['zoho-status']).toBe('done');
    expect(await keptItem(done)).toBeUndefined();

    const missing = `attachments/Leads/${'9'.repeat(19)}/lost.txt`;
    const tags = await failWith(missing);
    expect(tags['zoho-reason']).toBe(
      'Zoho answered 400 INVALID_DATA: the related id given seems to be invalid',
    );
    expect(await keptItem(missing)).toBeUndefined();
  });

  it('warns and goes on when the ledger table cannot take the full reason', async () => {
    const warn = vi.fn();
    await keepFullReason(
      {
        ledger: { ...h.ledger, tableName: 'no-such-table' },
        log: { ...silentLog, warn },
        now: () => new Date(),
      },
      { bucket: h.bucket, key: 'attachments/x' },
      { 'zoho-status': 'failed', 'zoho-at': new Date().toISOString(), 'zoho-reason': 'a "quoted" reason' },
    );
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('Could not keep the full reason'),
      expect.objectContaining({ key: 'attachments/x' }),
    );
  });
});

describe('a retry note', () => {
  it('keeps the full reason of a retrying object too', async () => {
    const key = `attachments/Leads/${leadId}/busy.txt`;
    const event = await h.put(key, 'zoho was busy');
    const message = 'Internal error, please retry (ref "A-42")';
    h.sandbox.faults.set({
      failNext: [{ status: 500, code: 'INTERNAL_ERROR', times: 10, path: '/Attachments', message }],
    });
    try {
      expect(await h.deliver('attachment', event)).toHaveLength(1);
    } finally {
      h.sandbox.faults.reset();
    }
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'retrying', 'zoho-error': 'INTERNAL_ERROR' });
    expect(tags['zoho-reason']).toBe(
      'Zoho answered 500 INTERNAL_ERROR: Internal error please retry ref A-42',
    );
    const kept = (await readFullReasons(h.ledger, h.bucket, [key])).get(key);
    expect(kept).toEqual({
      at: tags['zoho-at'],
      status: 'retrying',
      code: 'INTERNAL_ERROR',
      reason: `Zoho answered 500 INTERNAL_ERROR: ${message}`,
    });
  });
});
