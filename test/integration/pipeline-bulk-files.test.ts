/**
 * Bulk files as users have them: a bare CSV is imported as if it came zipped (checked, split and
 * uploaded as ZIPs the function makes), an upper-case `.ZIP` or `.CSV` is taken like any other,
 * and anything else under a bulk-write route is refused with what it takes.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, csvText } from '../unit/inspect-fixtures.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';
import { unzip } from './sandbox-helpers.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

type Row = Record<string, string>;
const rowsOf = async (key: string) => parse(await h.read(key), { columns: true }) as Row[];

describe('bulk files as users have them', () => {
  it('imports a bare CSV as if it came zipped: one job, every row’s result', async () => {
    const key = 'bulk-write/Leads/insert/bare leads.csv';
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    expect(await h.deliver('bulk-write', await h.put(key, csvText(30)))).toEqual([]);
    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '30', 'zoho-failed': '0' });
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore + 1);
    const rows = await rowsOf(`bulk-write-results/${key}.results.csv`);
    expect(rows).toHaveLength(30);
    expect(rows.every((r) => r.STATUS === 'ADDED' && /^\d+$/.test(r.RECORD_ID ?? ''))).toBe(true);
    expect(rows[0]?.Description).toBe('line one of 0\r\nline two, with "quotes"');
    // What Zoho received was a ZIP the function made of it.
    expect(h.sandbox.inspect().bulkFiles.at(-1)?.fileName).toBe('bare leads-part1.zip');
  });

  it.each([
    ['LEADS.ZIP', () => buildZip([{ name: 'leads.csv', data: csvText(3) }])],
    ['LEADS.CSV', async () => Buffer.from(csvText(3))],
  ])('takes %s, its extension in upper case, like any other', async (fileName, body) => {
    const key = `bulk-write/Leads/insert/${fileName}`;
    await h.deliver('bulk-write', await h.put(key, await body()));
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '3' });
  });

  it('splits a bare CSV over 25,000 rows into parts, one job each, one import', async () => {
    const key = 'bulk-write/Leads/insert/many.csv';
    await h.deliver('bulk-write', await h.put(key, csvText(25_001)));
    expect((await h.tags(key))['zoho-parts']).toBe('2');
    const tags = await h.followBulk(key, 60_000);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '25001', 'zoho-failed': '0' });
    const rows = await rowsOf(tags['zoho-results'] ?? '');
    expect(rows).toHaveLength(25_001);
    expect(rows[25_000]?.Email).toBe('user25000@example.com');
  });

  it('takes a bare CSV’s options from its metadata, and gives them back as job.json with the failed rows', async () => {
    const emails = (h.sandbox.inspect().records.Leads ?? []).slice(0, 1).map((r) => r.Email as string);
    const key = 'bulk-write/Leads/update/renames.csv';
    const csv = `Email,Last_Name\r\n${emails[0]},Renamed Bare\r\nno-one@example.invalid,Ghost\r\n`;
    await h.deliver('bulk-write', await h.put(key, csv, { 'zoho-find-by': 'Email' }));
    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-updated': '1', 'zoho-failed': '1' });
    expect(h.sandbox.inspect().records.Leads?.map((r) => r.Last_Name)).toContain('Renamed Bare');
    expect(await unzip(await h.readBytes(tags['zoho-failed-rows'] ?? ''))).toEqual({
      'renames.csv': 'Email,Last_Name\r\nno-one@example.invalid,Ghost\r\n',
      'job.json': JSON.stringify({ find_by: 'Email' }),
    });
  });

  it.each([
    [
      'an update CSV that names no way to find the records',
      'bulk-write/Leads/update/nofind.csv',
      'BULK_UPDATE_NEEDS_FIND_BY',
    ],
    ['a CSV with a header but no rows', 'bulk-write/Leads/insert/header-only.csv', 'CSV_NO_ROWS'],
  ])('checks a bare CSV as it checks a zipped one: %s', async (_what, key, code) => {
    const body = key.includes('header-only') ? 'Last_Name,Email\r\n' : 'Last_Name\r\nCurie\r\n';
    const calls = h.sandbox.inspect().requests.length;
    await h.deliver('bulk-write', await h.put(key, body));
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': code });
    expect(h.sandbox.inspect().requests.length).toBe(calls);
  });

  it('refuses anything else under a bulk-write route with NOT_A_ZIP and what it takes, before any Zoho call', async () => {
    const key = 'bulk-write/Leads/insert/leads.xlsx';
    const calls = h.sandbox.inspect().requests.length;
    expect(await h.deliver('bulk-write', await h.put(key, 'not a CSV'))).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'NOT_A_ZIP' });
    expect(tags['zoho-reason']).toContain('a bulk write takes a ZIP holding one CSV');
    expect(tags['zoho-reason']).toContain('bare .csv');
    expect(h.sandbox.inspect().requests.length).toBe(calls);
  });
});
