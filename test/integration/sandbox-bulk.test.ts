/** The sandbox's bulk write (upload host, jobs on the sandbox clock, result ZIP) and search. */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, fileForm, mintToken, postForm, unzip, zip } from './sandbox-helpers.ts';

const STEP_MS = 60_000;

let sb: Sandbox;
let call: ReturnType<typeof client>;
let zgid: string;

beforeAll(async () => {
  // Long steps: only the sandbox clock moves jobs on, so nothing here waits for real time.
  sb = await startSandbox({ port: 0, bulkJobStepMs: STEP_MS });
  call = client(sb, await mintToken(sb));
  zgid = ((await (await call('/crm/v8/org')).json()) as { org: Array<{ zgid: string }> }).org[0]?.zgid ?? '';
});
afterAll(() => sb?.close());

const upload = (
  body: Buffer,
  headers: Record<string, string> = { feature: 'bulk-write', 'X-CRM-ORG': zgid },
) => postForm(call, `${sb.uploadUrl}/crm/v8/upload`, fileForm(body, 'import.zip'), headers);

async function uploadCsv(csv: string): Promise<string> {
  const response = await upload(await zip([{ name: 'import.csv', data: csv }]));
  const answer = (await response.json()) as {
    code: string;
    details: { file_id: string; created_time: string };
  };
  expect(answer).toMatchObject({ status: 'success', code: 'FILE_UPLOAD_SUCCESS', message: 'file uploaded.' });
  return answer.details.file_id;
}

const createJob = (body: unknown) =>
  call('/crm/bulk/v8/write', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
interface JobDetails {
  status: string;
  resource: Array<Record<string, unknown> & { file: Record<string, number> }>;
  result?: { download_url: string };
}
const job = async (id: string) => (await (await call(`/crm/bulk/v8/write/${id}`)).json()) as JobDetails;
const resource = (fileId: string, extra: Record<string, unknown> = {}) => ({
  type: 'data',
  module: { api_name: 'Leads' },
  file_id: fileId,
  ...extra,
});

async function runJob(body: unknown): Promise<{ details: JobDetails; rows: Array<Record<string, string>> }> {
  const created = await createJob(body);
  expect(created.status).toBe(201);
  const { details } = (await created.json()) as { details: { id: string } };
  expect((await job(details.id)).status).toBe('ADDED');
  sb.clock.advance(STEP_MS);
  expect((await job(details.id)).status).toBe('IN PROGRESS');
  sb.clock.advance(STEP_MS);
  const done = await job(details.id);
  expect(done.status).toBe('COMPLETED');
  const download = await call(done.result?.download_url ?? '');
  expect(download.headers.get('content-type')).toBe('application/zip');
  const files = Object.values(await unzip(Buffer.from(await download.arrayBuffer())));
  expect(files).toHaveLength(1);
  return { details: done, rows: parse(files[0] ?? '', { columns: true }) as Array<Record<string, string>> };
}

describe('bulk write upload', () => {
  it.each([
    ['a file that is not a ZIP', () => upload(Buffer.from('Last_Name\r\nSmith\r\n')), 'INVALID_FILE_FORMAT'],
    ['a ZIP over 25 MB', () => upload(Buffer.alloc(25 * 1024 * 1024 + 1)), 'FILE_TOO_LARGE'],
    [
      'another org',
      async () =>
        upload(await zip([{ name: 'a.csv', data: 'Last_Name\r\nA\r\n' }]), {
          feature: 'bulk-write',
          'X-CRM-ORG': '1',
        }),
      'INVALID_DATA',
    ],
  ])('answers %s with HTTP 200 and an error body', async (_what, send, code) => {
    const response = await send();
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ code, status: 'error' });
  });

  it('answers no feature header with HTTP 200 and the x-error envelope crm-oas documents for it', async () => {
    const response = await upload(await zip([{ name: 'a.csv', data: 'Last_Name\r\nA\r\n' }]), {
      'X-CRM-ORG': zgid,
    });
    expect(response.status).toBe(200);
    // crm-oas v8.0 bulk_write.json API_Exception: the x-error its enum names for the headers.
    expect(await response.json()).toEqual({
      ERROR_CODE: 400,
      ERROR_MESSAGE: 'Bad Request',
      'x-error': 'check if headers [feature, X-CRM-ORG] are present and valid',
    });
  });

  it('can answer in the other envelope (ERROR_CODE, x-error in the body) or with the documented 400', async () => {
    sb.faults.set({ uploadErrorStyle: 'legacy-200' });
    const legacy = await upload(Buffer.from('not a zip'));
    expect(legacy.status).toBe(200);
    // crm-oas v8.0 bulk_write.json API_Exception: ERROR_CODE an integer, x-error a body property.
    expect(await legacy.json()).toEqual({
      ERROR_CODE: 400,
      ERROR_MESSAGE: 'Bad Request',
      'x-error': 'The file you uploaded is not in the zip format.',
    });
    sb.faults.set({ uploadErrorStyle: 'flat-400' });
    expect((await upload(Buffer.from('not a zip'))).status).toBe(400);
    sb.faults.reset();
  });
});

describe('bulk write jobs', () => {
  it('inserts, skipping rows without the mandatory field, and gives a result ZIP per row', async () => {
    const fileId = await uploadCsv(
      'Last_Name,Email,Company,Phone\r\nCurie,marie.curie@example.com,Radium Ltd,1\r\n,nobody@example.com,Nowhere,2\r\nNoether,emmy.noether@example.com,Rings Inc,3\r\n',
    );
    const { details, rows } = await runJob({ operation: 'insert', resource: [resource(fileId)] });
    expect(details.resource[0]).toMatchObject({
      status: 'COMPLETED',
      type: 'data',
      module: { api_name: 'Leads' },
      file: { added_count: 2, updated_count: 0, skipped_count: 1, total_count: 3 },
    });
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'Last_Name',
      'Email',
      'Company',
      'STATUS',
      'RECORD_ID',
      'ERRORS',
    ]);
    expect(rows.map((r) => [r.STATUS, r.ERRORS])).toEqual([
      ['ADDED', ''],
      ['SKIPPED', 'MANDATORY_NOT_FOUND-Last_Name'],
      ['ADDED', ''],
    ]);
    const curie = sb.inspect().records.Leads?.find((r) => r.id === rows[0]?.RECORD_ID);
    expect(curie).toMatchObject({ Last_Name: 'Curie', Email: 'marie.curie@example.com', Phone: '1' });
  });

  it('updates by find_by and skips rows that match nothing', async () => {
    const [ada, grace] = sb.inspect().records.Leads ?? [];
    const fileId = await uploadCsv(
      `Email;Last_Name\r\n${ada?.Email};Lovelace-King\r\n${grace?.Email};Hopper\r\nghost@example.com;Ghost\r\n`,
    );
    const { details, rows } = await runJob({
      operation: 'update',
      resource: [
        resource(fileId, {
          find_by: 'Email',
          field_mappings: [
            { api_name: 'Email', index: 0 },
            { api_name: 'Last_Name', index: 1 },
          ],
        }),
      ],
    });
    expect(details.resource[0]?.file).toMatchObject({ updated_count: 2, skipped_count: 1, total_count: 3 });
    expect(rows.map((r) => r.STATUS)).toEqual(['UPDATED', 'UPDATED', 'SKIPPED']);
    expect(rows[0]?.RECORD_ID).toBe(ada?.id);
    expect(rows[2]?.ERRORS).toBe('RESOURCE_NOT_FOUND-Email');
    expect(sb.inspect().records.Leads?.find((r) => r.id === ada?.id)?.Last_Name).toBe('Lovelace-King');
  });

  it('upserts: updates what find_by matches, inserts the rest', async () => {
    const before = sb.inspect().records.Leads?.length ?? 0;
    const fileId = await uploadCsv(
      'Email,Last_Name\r\nalan.turing@example.com,Turing OBE\r\nnew.person@example.com,Newcomer\r\n',
    );
    const { rows } = await runJob({
      operation: 'upsert',
      resource: [resource(fileId, { find_by: 'Email' })],
    });
    expect(rows.map((r) => r.STATUS)).toEqual(['UPDATED', 'ADDED']);
    expect(sb.inspect().records.Leads?.length).toBe(before + 1);
  });

  it.each([
    [
      'an unknown file id',
      (f: string) => ({ operation: 'insert', resource: [resource(`${f}9`)] }),
      'INVALID_FILE_ID',
    ],
    [
      'an unknown module',
      (f: string) => ({
        operation: 'insert',
        resource: [{ ...resource(f), module: { api_name: 'Unicorns' } }],
      }),
      'MODULE_NOT_AVAILABLE',
    ],
    [
      'a module bulk write does not take',
      (f: string) => ({ operation: 'insert', resource: [{ ...resource(f), module: { api_name: 'Notes' } }] }),
      'MODULE_NOT_AVAILABLE',
    ],
    [
      'a mandatory field not mapped',
      (f: string) => ({
        operation: 'insert',
        resource: [resource(f, { field_mappings: [{ api_name: 'Email', index: 1 }] })],
      }),
      'MANDATORY_FIELDS_NOT_MAPPED',
    ],
    [
      'a mapping to no field',
      (f: string) => ({
        operation: 'insert',
        resource: [
          resource(f, {
            field_mappings: [
              { api_name: 'Last_Name', index: 0 },
              { api_name: 'Shoe_Size', index: 1 },
            ],
          }),
        ],
      }),
      'INVALID_FIELD_NAME',
    ],
    [
      'a column index past the end',
      (f: string) => ({
        operation: 'insert',
        resource: [resource(f, { field_mappings: [{ api_name: 'Last_Name', index: 5 }] })],
      }),
      'COLUMN_INDEX_NOT_FOUND',
    ],
    [
      'an update without find_by',
      (f: string) => ({ operation: 'update', resource: [resource(f)] }),
      'MANDATORY_NOT_FOUND',
    ],
  ])('refuses %s with 400 and makes no job', async (_what, body, code) => {
    const fileId = await uploadCsv('Last_Name,Email\r\nA,a@example.com\r\n');
    const jobs = sb.inspect().bulkJobs.length;
    const response = await createJob(body(fileId));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code, status: 'error' });
    expect(sb.inspect().bulkJobs.length).toBe(jobs);
  });

  it('takes CSV headers as field names without field_mappings, and refuses one that is no field', async () => {
    const response = await createJob({
      operation: 'insert',
      resource: [resource(await uploadCsv('Shoe_Size\r\n42\r\n'))],
    });
    expect(await response.json()).toMatchObject({
      code: 'INVALID_FIELD_NAME',
      details: { api_name: 'Shoe_Size' },
    });
  });

  it('refuses a CSV over 25,000 rows or 200 columns with LIMIT_EXCEEDED', async () => {
    const rows = `Last_Name\r\n${'Row\r\n'.repeat(25_001)}`;
    const wide = `${Array.from({ length: 201 }, (_, i) => (i === 0 ? 'Last_Name' : `Description`)).join(',')}\r\n`;
    for (const csv of [rows, wide]) {
      const response = await createJob({ operation: 'insert', resource: [resource(await uploadCsv(csv))] });
      expect(await response.json()).toMatchObject({ code: 'LIMIT_EXCEEDED', status: 'error' });
    }
  });

  it('ends the next jobs FAILED under the failBulkJobs fault: nothing applied, no result', async () => {
    const fileId = await uploadCsv('Last_Name\r\nDoomed\r\n');
    sb.faults.set({ failBulkJobs: 1 });
    try {
      const created = await createJob({ operation: 'insert', resource: [resource(fileId)] });
      expect(created.status).toBe(201);
      const { id } = ((await created.json()) as { details: { id: string } }).details;
      expect((await job(id)).status).toBe('ADDED');
      sb.clock.advance(STEP_MS);
      expect((await job(id)).status).toBe('IN PROGRESS');
      sb.clock.advance(STEP_MS);
      const failed = await job(id);
      expect(failed.status).toBe('FAILED');
      expect(failed.result).toBeUndefined();
      expect(failed.resource[0]).toMatchObject({
        status: 'FAILED',
        file: { added_count: 0, updated_count: 0, skipped_count: 0, total_count: 1 },
      });
      expect(sb.inspect().records.Leads?.some((r) => r.Last_Name === 'Doomed')).toBe(false);
      expect(sb.inspect().bulkJobs.find((j) => j.id === id)?.status).toBe('FAILED');
      // Only the next one: the job after it completes.
      const { details } = await runJob({ operation: 'insert', resource: [resource(fileId)] });
      expect(details.resource[0]?.file).toMatchObject({ added_count: 1 });
    } finally {
      sb.faults.reset();
    }
  });

  it('refuses, without reading it, a CSV that unzips to more than the sandbox can hold', async () => {
    // A 25 MB ZIP may unzip to gigabytes; here about 1 MB of ZIP holds a 257 MB row.
    const megabyte = Buffer.alloc(1024 * 1024, 'a');
    async function* csv(): AsyncGenerator<Buffer> {
      yield Buffer.from('Last_Name,Description\r\nBig,');
      for (let i = 0; i < 257; i += 1) yield megabyte;
      yield Buffer.from('\r\n');
    }
    const archive = new ZipFile();
    archive.addReadStream(Readable.from(csv()), 'huge.csv', { compressionLevel: 1 });
    archive.end();
    const bomb = Buffer.concat(await (archive.outputStream as Readable).toArray());
    const response = await upload(bomb);
    const { file_id } = ((await response.json()) as { details: { file_id: string } }).details;
    const created = await createJob({ operation: 'insert', resource: [resource(file_id)] });
    expect(created.status).toBe(400);
    expect(await created.json()).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { json_path: '$.resource[0].file_id' },
      status: 'error',
    });
  });

  it('writes a parent and its subform from one ZIP in one job (seed 003), children under their parents', async () => {
    const response = await upload(
      await zip([
        {
          name: 'contacts.csv',
          data: 'Ref,Last_Name,Email\r\nc1,Lamarr,hedy@example.com\r\nc2,Noether,emmy@example.com\r\n',
        },
        {
          name: 'languages.csv',
          data: 'Contact,Language\r\nc1,German\r\nc1,English\r\nc2,German\r\nc9,Latin\r\n',
        },
      ]),
    );
    const fileId = ((await response.json()) as { details: { file_id: string } }).details.file_id;
    const parent = {
      type: 'data',
      module: { api_name: 'Contacts' },
      file_id: fileId,
      file_names: ['contacts.csv'],
      field_mappings: [
        { api_name: 'Last_Name', index: 1 },
        { api_name: 'Email', index: 2 },
      ],
    };
    const child = {
      type: 'data',
      module: { api_name: 'Languages' },
      file_id: fileId,
      file_names: ['languages.csv'],
      field_mappings: [
        { api_name: 'Parent_Id', index: 0, parent_column_index: 0 },
        { api_name: 'Language', index: 1 },
      ],
    };
    // Without its parent, or without the link to it, a subform is refused.
    expect(
      (await (await createJob({ operation: 'insert', resource: [child] })).json()) as object,
    ).toMatchObject({
      code: 'INVALID_DATA',
      details: { api_name: 'module' },
    });
    const unlinked = { ...child, field_mappings: [{ api_name: 'Language', index: 1 }] };
    expect(
      (await (await createJob({ operation: 'insert', resource: [parent, unlinked] })).json()) as object,
    ).toMatchObject({
      code: 'MANDATORY_NOT_FOUND',
      details: { api_name: 'parent_column_index' },
    });
    // Several CSVs in a ZIP: each resource names its own.
    const { file_names: _, ...unnamed } = parent;
    expect(
      (await (await createJob({ operation: 'insert', resource: [unnamed] })).json()) as object,
    ).toMatchObject({
      code: 'INVALID_DATA',
    });

    const created = await createJob({ operation: 'insert', resource: [child, parent] });
    expect(created.status).toBe(201);
    const { details } = (await created.json()) as { details: { id: string } };
    sb.clock.advance(2 * STEP_MS);
    const done = await job(details.id);
    expect(
      done.resource.map((r) => [
        (r.module as { api_name: string }).api_name,
        r.file.added_count,
        r.file.skipped_count,
      ]),
    ).toEqual([
      ['Languages', 3, 1],
      ['Contacts', 2, 0],
    ]);
    const contacts = sb.inspect().records.Contacts ?? [];
    const lamarr = contacts.find((c) => c.Last_Name === 'Lamarr')?.id;
    const noether = contacts.find((c) => c.Last_Name === 'Noether')?.id;
    const languages = (sb.inspect().records.Languages ?? []).map((l) => [l.Parent_Id, l.Language]);
    expect(languages).toEqual([
      [lamarr, 'German'],
      [lamarr, 'English'],
      [noether, 'German'],
    ]);
    const files = await unzip(Buffer.from(await (await call(done.result?.download_url ?? '')).arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['Contacts-contacts.csv', 'Languages-languages.csv']);
    expect(files['Languages-languages.csv']).toContain('c9,Latin,SKIPPED,,RESOURCE_NOT_FOUND-Contact');
  });

  it('answers an unknown job id with 400 RESOURCE_NOT_FOUND (crm-oas v8.0 bulk_write.json)', async () => {
    const answer = await call('/crm/bulk/v8/write/5725767999999999999');
    expect(answer.status).toBe(400);
    expect(await answer.json()).toEqual({
      code: 'RESOURCE_NOT_FOUND',
      details: { resource: '5725767999999999999' },
      message: 'the requested resource does not exist',
      status: 'error',
    });
  });

  it('needs the token to download a result', async () => {
    const { details } = await runJob({
      operation: 'insert',
      resource: [resource(await uploadCsv('Last_Name\r\nSolo\r\n'))],
    });
    const anonymous = await fetch(details.result?.download_url ?? '');
    expect(anonymous.status).toBe(401);
  });
});

describe('search', () => {
  const search = (module: string, query: string) => call(`/crm/v8/${module}/search?${query}`);
  const criteria = (text: string) => `criteria=${encodeURIComponent(text)}`;

  it('answers 204 with an empty body when nothing matches', async () => {
    const response = await search('Contacts', 'email=nobody@example.invalid');
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
  });

  it('finds by email, by criteria with starts_with, and with escaped parentheses and commas', async () => {
    const email = sb.inspect().records.Contacts?.[0]?.Email as string;
    const byEmail = (await (await search('Contacts', `email=${encodeURIComponent(email)}`)).json()) as {
      data: Array<{ Email: string }>;
      info: Record<string, unknown>;
    };
    expect(byEmail.data.map((r) => r.Email)).toEqual([email]);
    expect(byEmail.info).toEqual({ per_page: 200, count: 1, page: 1, more_records: false });

    const starts = (await (await search('Accounts', criteria('(Account_Name:starts_with:acme)'))).json()) as {
      data: Array<{ Account_Name: string }>;
    };
    expect(starts.data.map((r) => r.Account_Name)).toEqual(['Acme Widgets']);

    const name = 'Smith (UK), Ltd';
    const id = sb.createRecord('Accounts', { Account_Name: name });
    const escaped = (await (
      await search('Accounts', criteria('(Account_Name:equals:Smith \\(UK\\)\\, Ltd)'))
    ).json()) as { data: Array<{ id: string }> };
    expect(escaped.data.map((r) => r.id)).toEqual([id]);

    const either = (await (
      await search(
        'Accounts',
        criteria('((Account_Name:equals:Zylker Corp)or(Account_Name:equals:Globex Industries))'),
      )
    ).json()) as { data: unknown[] };
    expect(either.data).toHaveLength(2);
  });

  it('reproduces the v8 quirk: equals on a text field matches like a case-insensitive contains', async () => {
    sb.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd' });
    sb.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd (Holdings)' });
    const v8 = (await (
      await search('Accounts', criteria('(Account_Name:equals:twin peaks ltd)'))
    ).json()) as { data: unknown[] };
    expect(v8.data).toHaveLength(2);
    const v7 = (await (
      await call(`/crm/v7/Accounts/search?${criteria('(Account_Name:equals:twin peaks ltd)')}`)
    ).json()) as { data: unknown[] };
    expect(v7.data).toHaveLength(1);
  });

  it.each([
    ['no search parameter', '', 'EXPECTED_PARAM_MISSING'],
    ['criteria without parentheses', criteria('Last_Name:equals:Smith'), 'INVALID_QUERY'],
    ['an unknown operator', criteria('(Last_Name:resembles:Smith)'), 'INVALID_QUERY'],
    ['an unknown field', criteria('(Shoe_Size:equals:42)'), 'INVALID_QUERY'],
    // Deep enough to overflow a recursive parser: still Zoho's 400, never a 500 a client would retry.
    [
      'criteria nested 6,000 groups deep',
      criteria(`${'('.repeat(6000)}Last_Name:equals:x${')'.repeat(6000)}`),
      'INVALID_QUERY',
    ],
  ])('refuses %s with 400', async (_what, query, code) => {
    const response = await search('Leads', query);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code, status: 'error' });
  });
});
