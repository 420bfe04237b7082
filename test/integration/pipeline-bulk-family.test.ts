/**
 * Parent-child imports (seed 003) past 25,000 rows and with full results: the family is cut into
 * jobs that each carry their parents' children, and every CSV's rows come back with their results.
 */
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip } from '../unit/inspect-fixtures.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';
import { unzip } from './sandbox-helpers.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

type Row = Record<string, string>;
const rowsOf = async (key: string) => parse(await h.read(key), { columns: true }) as Row[];

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
  it('gives every CSV’s rows their results, the children’s in a results file of their own', async () => {
    const key = 'bulk-write/Contacts/insert/small family.zip';
    const zip = await buildZip([
      { name: 'contacts.csv', data: contactsCsv(2, 's') },
      { name: 'languages.csv', data: 'Contact,Language\r\ns1,Polish\r\nghost,Latin\r\ns0,French\r\n' },
      { name: 'job.json', data: JSON.stringify(job) },
    ]);
    await h.deliver('bulk-write', await h.put(key, zip));
    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '4', 'zoho-failed': '1' });

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
