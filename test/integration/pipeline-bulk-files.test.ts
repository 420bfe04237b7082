/**
 * Bulk files as users have them: a bare CSV is imported as if it came zipped (checked, split and
 * uploaded as ZIPs the function makes), an upper-case `.ZIP` or `.CSV` is taken like any other,
 * and anything else under a bulk-write route is refused with what it takes. Parent-child imports
 * (seed 003) past 25,000 rows and with full results: the family is cut into jobs that each carry
 * their parents' children, and every CSV's rows come back with their results.
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

const job = {
  field_mappings: [
    { api_name: 'Last_Name', index: 1 },
    { api_name: 'Email', index: 2 },
  ],
  children: [
    {
      file: 'languages.csv',
      module: 'Languages',
      field_mappings: [
        { api_name: 'Parent_Id', index: 0, parent_column_index: 0 },
        { api_name: 'Language', index: 1 },
      ],
    },
  ],
};

function contactsCsv(count: number, tag: string): string {
  const rows = Array.from(
    { length: count },
    (_, i) => `${tag}${i},Family ${tag} ${i},${tag}${i}@example.com\r\n`,
  );
  return `Ref,Last_Name,Email\r\n${rows.join('')}`;
}

/** The sandbox's Languages rows as [parent's Last_Name, Language]. */
function languagesByParent(tag: string): string[][] {
  const { records } = h.sandbox.inspect();
  const names = new Map((records.Contacts ?? []).map((c) => [c.id, String(c.Last_Name)]));
  return (records.Languages ?? [])
    .map((l) => [names.get(String(l.Parent_Id)) ?? '', String(l.Language)])
    .filter(([name]) => name?.startsWith(`Family ${tag} `));
}

describe('parent-child imports', () => {
  it('lands a small family in one job and gives every CSV’s rows their results, the children’s in a file of their own', async () => {
    const key = 'bulk-write/Contacts/insert/small family.zip';
    const zip = await buildZip([
      { name: 'contacts.csv', data: contactsCsv(2, 's') },
      { name: 'languages.csv', data: 'Contact,Language\r\ns1,Polish\r\nghost,Latin\r\ns0,French\r\n' },
      { name: 'job.json', data: JSON.stringify(job) },
    ]);
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    await h.deliver('bulk-write', await h.put(key, zip));
    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '4', 'zoho-failed': '1' });
    // Up to 25,000 rows per CSV: one upload, one job, both modules.
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore + 1);

    expect((await rowsOf(tags['zoho-results'] ?? '')).map((r) => [r.Ref, r.STATUS])).toEqual([
      ['s0', 'ADDED'],
      ['s1', 'ADDED'],
    ]);
    const children = await rowsOf(`bulk-write-results/${key}.languages.csv.results.csv`);
    expect(children.map((r) => [r.Contact, r.Language, r.STATUS, r.ERRORS])).toEqual([
      ['s1', 'Polish', 'ADDED', ''],
      ['ghost', 'Latin', 'SKIPPED', 'RESOURCE_NOT_FOUND-Contact'],
      ['s0', 'French', 'ADDED', ''],
    ]);
    const ids = new Map(languagesByParent('s').map(([name, language]) => [language, name]));
    expect(children.filter((r) => r.STATUS === 'ADDED').every((r) => /^\d+$/.test(r.RECORD_ID ?? ''))).toBe(
      true,
    );
    expect(Object.fromEntries(ids)).toEqual({ Polish: 'Family s 1', French: 'Family s 0' });

    // Every CSV's failed rows, with the job.json: the parent's none, the child's one.
    expect(await unzip(await h.readBytes(tags['zoho-failed-rows'] ?? ''))).toEqual({
      'contacts.csv': 'Ref,Last_Name,Email\r\n',
      'languages.csv': 'Contact,Language\r\nghost,Latin\r\n',
      'job.json': JSON.stringify(job),
    });
  });

  it('cuts a parent CSV over 25,000 rows into jobs that each carry their parents’ children', async () => {
    const key = 'bulk-write/Contacts/insert/big family.zip';
    const languages = 'Contact,Language\r\nb25000,Polish\r\nb0,French\r\nb24999,German\r\nb25000,Czech\r\n';
    const zip = await buildZip([
      { name: 'contacts.csv', data: contactsCsv(25_001, 'b') },
      { name: 'languages.csv', data: languages },
      { name: 'job.json', data: JSON.stringify(job) },
    ]);
    await h.deliver('bulk-write', await h.put(key, zip));
    expect((await h.tags(key))['zoho-parts']).toBe('2');
    const tags = await h.followBulk(key, 60_000);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '25005', 'zoho-failed': '0' });

    // Each child landed on its own parent, whichever job that parent was in.
    expect(languagesByParent('b').sort()).toEqual([
      ['Family b 0', 'French'],
      ['Family b 24999', 'German'],
      ['Family b 25000', 'Czech'],
      ['Family b 25000', 'Polish'],
    ]);
    const children = await rowsOf(`bulk-write-results/${key}.languages.csv.results.csv`);
    expect(children.map((r) => [r.Contact, r.Language, r.STATUS])).toEqual([
      ['b25000', 'Polish', 'ADDED'],
      ['b0', 'French', 'ADDED'],
      ['b24999', 'German', 'ADDED'],
      ['b25000', 'Czech', 'ADDED'],
    ]);
    expect(await rowsOf(tags['zoho-results'] ?? '')).toHaveLength(25_001);
  });
});
