/** The bulk-write Lambda end to end: jobs created, followed through delayed messages, results kept. */
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

describe('bulk write', () => {
  it('inserts a small CSV, follows the job to its end and keeps every row’s result', async () => {
    const key = 'bulk-write/Leads/insert/spring fair.zip';
    const zip = await buildZip([{ name: 'leads.csv', data: csvText(20) }]);
    expect(await h.deliver('bulk-write', await h.put(key, zip))).toEqual([]);
    expect((await h.tags(key))['zoho-status']).toBe('pushing');

    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '20', 'zoho-failed': '0' });
    const rows = parse(await h.read(`bulk-write-results/${key}.results.csv`), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.STATUS === 'ADDED' && /^\d+$/.test(r.RECORD_ID ?? ''))).toBe(true);
    // Every input column comes back, not only the three Zoho's result file keeps.
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'Last_Name',
      'Email',
      'Description',
      'STATUS',
      'RECORD_ID',
      'ERRORS',
    ]);
    expect(rows[0]?.Description).toBe('line one of 0\r\nline two, with "quotes"');
    expect(tags['zoho-failed-rows']).toBeUndefined();
  });

  it('sends a ZIP upload answered 429 or 5xx again in the same delivery, read again from its file', async () => {
    const key = 'bulk-write/Leads/insert/busy upload.zip';
    const zip = await buildZip([{ name: 'leads.csv', data: csvText(3) }]);
    h.sandbox.faults.set({
      failNext: [
        { status: 429, code: 'TOO_MANY_REQUESTS', times: 1, path: '/upload' },
        { status: 500, code: 'INTERNAL_ERROR', times: 1, path: '/upload' },
      ],
    });
    try {
      expect(await h.deliver('bulk-write', await h.put(key, zip))).toEqual([]);
    } finally {
      h.sandbox.faults.reset();
    }
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '3' });
  });

  it('passes every field_mappings key of job.json to Zoho as written (crm-oas v8.0 bulk_write.json)', async () => {
    const key = 'bulk-write/Leads/insert/with defaults.zip';
    const job = {
      field_mappings: [
        { api_name: 'Last_Name', index: 0 },
        { api_name: 'Email', index: 1, format: 'text' },
        { api_name: 'Lead_Source', default_value: { value: 'Trade fair' } },
      ],
    };
    const zip = await buildZip([
      { name: 'leads.csv', data: 'Last_Name,Email\r\nDefaulted,defaulted@example.com\r\n' },
      { name: 'job.json', data: JSON.stringify(job) },
    ]);
    const since = h.sandbox.inspect().requests.length;
    expect(await h.deliver('bulk-write', await h.put(key, zip))).toEqual([]);
    expect(await h.followBulk(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '1' });
    const created = h.sandbox
      .inspect()
      .requests.slice(since)
      .find((r) => r.method === 'POST' && r.path.endsWith('/crm/bulk/v8/write'));
    expect(created?.jsonKeys).toEqual(
      expect.arrayContaining([
        'resource[].field_mappings[].format',
        'resource[].field_mappings[].default_value',
        'resource[].field_mappings[].default_value.value',
      ]),
    );
    const lead = h.sandbox.inspect().records.Leads?.find((r) => r.Email === 'defaulted@example.com');
    expect(lead?.Lead_Source).toBe('Trade fair');
  });

  it('splits a 60,000-row CSV into three jobs and reports them as one import', async () => {
    const key = 'bulk-write/Leads/insert/big import.zip';
    const zip = await buildZip([{ name: 'big.csv', data: csvText(60_000) }]);
    await h.deliver('bulk-write', await h.put(key, zip));
    const started = await h.tags(key);
    expect(started['zoho-parts']).toBe('3');
    expect(started['zoho-id']?.split(' ')).toHaveLength(3);

    const tags = await h.followBulk(key, 60_000);
    expect(tags).toMatchObject({ 'zoho-status': 'done', 'zoho-added': '60000', 'zoho-failed': '0' });
    const results = parse(await h.read(`bulk-write-results/${key}.results.csv`), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(results).toHaveLength(60_000);
    expect(results[59_999]?.Email).toBe('user59999@example.com');
  });

  it('updates by a find_by given in job.json, and counts the rows Zoho refused', async () => {
    const emails =
      h.sandbox
        .inspect()
        .records.Leads?.slice(0, 2)
        .map((r) => r.Email as string) ?? [];
    const csv = `Email,Last_Name\r\n${emails[0]},Renamed One\r\n${emails[1]},Renamed Two\r\nno-one@example.invalid,Ghost\r\n`;
    const key = 'bulk-write/Leads/update/renames.zip';
    const zip = await buildZip([
      { name: 'renames.csv', data: csv },
      { name: 'job.json', data: JSON.stringify({ find_by: 'Email' }) },
    ]);
    await h.deliver('bulk-write', await h.put(key, zip));
    const tags = await h.followBulk(key);
    expect(tags).toMatchObject({
      'zoho-status': 'done',
      'zoho-updated': '2',
      'zoho-skipped': '1',
      'zoho-failed': '1',
    });
    const names = h.sandbox.inspect().records.Leads?.map((r) => r.Last_Name);
    expect(names).toContain('Renamed One');

    // The failed rows, exactly, with the same job.json: ready to fix and drop again.
    expect(tags['zoho-failed-rows']).toBe(`bulk-write-results/${key}.failed-rows.zip`);
    const failed = await unzip(await h.readBytes(tags['zoho-failed-rows'] ?? ''));
    expect(failed).toEqual({
      'renames.csv': 'Email,Last_Name\r\nno-one@example.invalid,Ghost\r\n',
      'job.json': JSON.stringify({ find_by: 'Email' }),
    });
    const results = parse(await h.read(tags['zoho-results'] ?? ''), { columns: true }) as Array<
      Record<string, string>
    >;
    expect(results.map((r) => [r.Last_Name, r.STATUS, r.ERRORS])).toEqual([
      ['Renamed One', 'UPDATED', ''],
      ['Renamed Two', 'UPDATED', ''],
      ['Ghost', 'SKIPPED', 'RESOURCE_NOT_FOUND-Email'],
    ]);
  });

  it('refuses a parent-child ZIP whose child CSV job.json does not name, before any Zoho call', async () => {
    const key = 'bulk-write/Contacts/insert/stray child.zip';
    const zip = await buildZip([
      { name: 'contacts.csv', data: 'Last_Name\r\nCurie\r\n' },
      { name: 'languages.csv', data: 'Contact,Language\r\nr1,Polish\r\n' },
    ]);
    const event = await h.put(key, zip);
    const calls = h.sandbox.inspect().requests.length;
    await h.deliver('bulk-write', event);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'ZIP_MULTIPLE_CSV' });
    expect(h.sandbox.inspect().requests.length).toBe(calls);
  });

  it('does not make a second job when the event arrives again', async () => {
    const key = 'bulk-write/Leads/insert/twice.zip';
    const event = await h.put(key, await buildZip([{ name: 'twice.csv', data: csvText(5) }]));
    await h.deliver('bulk-write', event);
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    await h.deliver('bulk-write', event);
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore);
    expect((await h.followBulk(key))['zoho-status']).toBe('done');
  });

  it('reports a job Zoho ends FAILED as a failed import, with its job id', async () => {
    const key = 'bulk-write/Leads/insert/doomed.zip';
    h.sandbox.faults.set({ failBulkJobs: 1 });
    try {
      await h.deliver('bulk-write', await h.put(key, await buildZip([{ name: 'd.csv', data: csvText(4) }])));
      const tags = await h.followBulk(key);
      expect(tags).toMatchObject({
        'zoho-status': 'failed',
        'zoho-error': 'BULK_JOB_FAILED',
        'zoho-added': '0',
        // Rows Zoho never processed are failures, not successes.
        'zoho-failed': '4',
      });
      const rows = parse(await h.read(tags['zoho-results'] ?? ''), { columns: true }) as Array<
        Record<string, string>
      >;
      expect(rows.map((r) => [r.STATUS, r.ERRORS])).toEqual(
        Array(4).fill(['NOT_PROCESSED', 'BULK_JOB_FAILED']),
      );
      expect(tags['zoho-id']).toMatch(/^\d+$/);
    } finally {
      h.sandbox.faults.reset();
    }
  });

  it('makes a new import when the same ZIP is dropped again (a new write)', async () => {
    const key = 'bulk-write/Leads/insert/weekly.zip';
    const zip = await buildZip([{ name: 'weekly.csv', data: csvText(3) }]);
    await h.deliver('bulk-write', await h.put(key, zip));
    const first = (await h.followBulk(key))['zoho-id'];
    await h.deliver('bulk-write', await h.put(key, zip));
    const second = (await h.followBulk(key))['zoho-id'];
    expect(first).toMatch(/^\d+$/);
    expect(second).toMatch(/^\d+$/);
    expect(second).not.toBe(first);
  });

  it.each([
    [
      'a file that is not a ZIP',
      'bulk-write/Leads/insert/fake.zip',
      async () => Buffer.from('not a zip at all'),
      'NOT_A_ZIP',
    ],
    [
      'a ZIP without a CSV',
      'bulk-write/Leads/insert/empty.zip',
      () => buildZip([{ name: 'readme.txt', data: 'hello' }]),
      'ZIP_NO_CSV',
    ],
    [
      'a job.json with an unknown option',
      'bulk-write/Leads/insert/bad-job.zip',
      () =>
        buildZip([
          { name: 'a.csv', data: csvText(2) },
          { name: 'job.json', data: '{"find_by":"Email","delete_everything":true}' },
        ]),
      'INVALID_JOB_JSON',
    ],
    [
      'a CSV whose header names no field of the module',
      'bulk-write/Leads/insert/unknown-field.zip',
      () => buildZip([{ name: 'a.csv', data: 'Shoe_Size\r\n42\r\n' }]),
      'INVALID_FIELD_NAME',
    ],
  ])('refuses %s with a reason and makes no job', async (_what, key, body, code) => {
    const jobsBefore = h.sandbox.inspect().bulkJobs.length;
    expect(await h.deliver('bulk-write', await h.put(key, await body()))).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': code });
    expect(h.sandbox.inspect().bulkJobs.length).toBe(jobsBefore);
  });
});
