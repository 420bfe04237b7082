import { describe, expect, it } from 'vitest';
import { inspectBulkZip, parseJobOptionsFromMetadata } from '#lib/inspect/bulk.ts';
import { mergeJobOptions, parseJobJson } from '#lib/inspect/job-options.ts';
import { bufferRangeReader } from '#lib/inspect/range-reader.ts';
import { buildZip, csvText, refusal, refusalOf, type ZipInput } from './inspect-fixtures.ts';

async function inspect(files: ZipInput[], metadata?: Record<string, string>) {
  return inspectBulkZip(bufferRangeReader(await buildZip(files)), metadata === undefined ? {} : { metadata });
}

const leads = { name: 'leads.csv', data: csvText(120) };
const job = (value: unknown): ZipInput => ({ name: 'job.json', data: JSON.stringify(value) });

describe('inspectBulkZip', () => {
  it('answers the CSV facts of a ZIP holding one CSV', async () => {
    const facts = await inspect([leads]);
    expect(facts.csvEntries).toHaveLength(1);
    expect(facts.csvEntries[0]).toMatchObject({
      entry: { name: 'leads.csv', method: 8 },
      header: ['Last_Name', 'Email', 'Description'],
      rows: 120,
      columns: 3,
    });
    expect(facts.jobOptions).toBeUndefined();
    expect(facts.ignoredEntries).toEqual([]);
  });

  it('reads job options from job.json', async () => {
    const options = {
      find_by: 'Email',
      ignore_empty: true,
      field_mappings: [
        { api_name: 'Last_Name', index: 0 },
        { api_name: 'Email', index: 1 },
        { api_name: 'Description', index: 2, format: 'text' },
      ],
    };
    expect((await inspect([leads, job(options)])).jobOptions).toEqual(options);
  });

  it('takes every field_mappings key Zoho takes (crm-oas v8.0 bulk_write.json Resource.field_mappings)', async () => {
    const options = {
      find_by: 'Email',
      field_mappings: [
        { api_name: 'Last_Name', index: 0 },
        { api_name: 'Email', index: 1, format: 'text' },
        { api_name: 'Account_Name', index: 2, find_by: 'Account_Number', module: 'Accounts' },
        { api_name: 'Lead_Source', default_value: { value: 'Web' } },
        { api_name: 'Owner', default_value: { name: 'Sandbox Admin', module: 'users', value: { id: '1' } } },
      ],
    };
    expect((await inspect([leads, job(options)])).jobOptions).toEqual(options);
  });

  it('lets metadata override job.json key by key', async () => {
    const facts = await inspect([leads, job({ find_by: 'Email', ignore_empty: true })], {
      'zoho-ignore-empty': 'false',
      'zoho-field-mappings': '[{"api_name":"Last_Name","index":0}]',
    });
    expect(facts.jobOptions).toEqual({
      find_by: 'Email',
      ignore_empty: false,
      field_mappings: [{ api_name: 'Last_Name', index: 0 }],
    });
  });

  it('ignores folders and Finder / Explorer leftovers', async () => {
    const facts = await inspect([
      leads,
      { name: '__MACOSX/._leads.csv', data: 'junk' },
      { name: '._leads.csv', data: 'junk' },
      { name: '.DS_Store', data: 'junk' },
      { name: 'README.txt', data: 'notes' },
    ]);
    expect(facts.csvEntries.map((entry) => entry.entry.name)).toEqual(['leads.csv']);
    expect(facts.ignoredEntries).toEqual(['__MACOSX/._leads.csv', '._leads.csv', '.DS_Store', 'README.txt']);
  });

  it('refuses a ZIP without a CSV, and says where a nested one is', async () => {
    const none = await refusal(inspect([{ name: 'notes.txt', data: 'x' }]));
    expect(none.code).toBe('ZIP_NO_CSV');
    const nested = await refusal(inspect([{ name: 'export/leads.csv', data: csvText(3) }]));
    expect(nested.code).toBe('ZIP_NO_CSV');
    expect(nested.message).toContain('"export/leads.csv"');
    expect(nested.message).toContain('top level');
  });

  it('refuses two CSVs: one parent CSV per ZIP', async () => {
    const error = await refusal(inspect([leads, { name: 'more.CSV', data: csvText(2) }]));
    expect(error.code).toBe('ZIP_MULTIPLE_CSV');
    expect(error.message).toContain('"leads.csv"');
    expect(error.message).toContain('"more.CSV"');
  });

  describe('a parent-child ZIP (seed 003)', () => {
    const langs = { name: 'langs.csv', data: 'Contact,Language\r\nName0,Polish\r\n' };
    const child = (extra: Record<string, unknown> = {}) => ({
      file: 'langs.csv',
      module: 'Languages',
      field_mappings: [
        { api_name: 'Parent_Id', index: 0, parent_column_index: 0 },
        { api_name: 'Language', index: 1 },
      ],
      ...extra,
    });
    const parentMappings = [{ api_name: 'Last_Name', index: 0 }];

    it('takes the child CSVs job.json names, the parent first', async () => {
      const facts = await inspect([
        leads,
        langs,
        job({ field_mappings: parentMappings, children: [child()] }),
      ]);
      expect(facts.csvEntries.map((c) => [c.entry.name, c.rows])).toEqual([
        ['leads.csv', 120],
        ['langs.csv', 1],
      ]);
    });

    it.each([
      ['a child file not in the ZIP', { children: [child({ file: 'other.csv' })] }, 'not a CSV at the top'],
      [
        'a child without the link to its parent',
        { children: [child({ field_mappings: [{ api_name: 'Language', index: 1 }] })] },
        'parent_column_index',
      ],
      [
        'a link past the parent’s columns',
        {
          children: [
            child({ field_mappings: [{ api_name: 'Parent_Id', index: 0, parent_column_index: 3 }] }),
          ],
        },
        'parent CSV has 3 columns',
      ],
      [
        'no mappings for the parent',
        { children: [child()], field_mappings: undefined },
        'needs field_mappings',
      ],
    ])('refuses %s', async (_what, options, message) => {
      const error = await refusal(
        inspect([leads, langs, job({ field_mappings: parentMappings, ...options })]),
      );
      expect(error.code).toBe('INVALID_JOB_JSON');
      expect(error.message).toContain(message);
    });

    it('takes a parent over 25,000 rows: the pipeline cuts the family into jobs, children with their parents', async () => {
      const big = { name: 'leads.csv', data: csvText(25_001) };
      const facts = await inspect([big, langs, job({ field_mappings: parentMappings, children: [child()] })]);
      expect(facts.csvEntries.map((c) => c.rows)).toEqual([25_001, 1]);
    });
  });

  it('refuses a CSV with a header but no rows, and one with too many columns', async () => {
    expect((await refusal(inspect([{ name: 'a.csv', data: 'Last_Name,Email\r\n' }]))).code).toBe(
      'CSV_NO_ROWS',
    );
    const wide = `${Array.from({ length: 201 }, (_, i) => `F${i}`).join(',')}\n`;
    const error = await refusal(inspect([{ name: 'wide.csv', data: wide }]));
    expect(error.code).toBe('CSV_TOO_MANY_COLUMNS');
    expect(error.message).toContain('"wide.csv"');
  });

  it('does not refuse more than 25,000 rows: the pipeline splits them', async () => {
    const facts = await inspect([{ name: 'big.csv', data: csvText(25_001) }]);
    expect(facts.csvEntries[0]?.rows).toBe(25_001);
  });

  it('refuses what is not a ZIP', async () => {
    const error = await refusal(inspectBulkZip(bufferRangeReader(Buffer.from(csvText(3)))));
    expect(error.code).toBe('NOT_A_ZIP');
  });

  it.each([
    ['not JSON', '{"find_by": Email}', 'not valid JSON'],
    ['a list', '[]', 'JSON object'],
    ['an unknown key', '{"operation":"insert"}', '"operation"'],
    ['a misspelt key', '{"findBy":"Email"}', '"findBy"'],
    ['a wrong type', '{"ignore_empty":"yes"}', 'ignore_empty must be true or false'],
    ['a bad api name', '{"find_by":"E-mail"}', 'find_by'],
    ['a bad mapping name', '{"field_mappings":[{"api_name":"1st"}]}', 'field_mappings[0].api_name'],
    ['an unknown mapping key', '{"field_mappings":[{"api_name":"Email","column":1}]}', '"column"'],
    ['a negative index', '{"field_mappings":[{"api_name":"Email","index":-1}]}', 'field_mappings[0].index'],
    [
      'a fractional index',
      '{"field_mappings":[{"api_name":"Email","index":1.5}]}',
      'field_mappings[0].index',
    ],
    [
      'an index past the columns',
      '{"field_mappings":[{"api_name":"Email","index":3}]}',
      'column 3, but the CSV has 3',
    ],
    [
      'a field mapped twice',
      '{"field_mappings":[{"api_name":"Email","index":1},{"api_name":"Email","index":2}]}',
      'second time',
    ],
    ['an empty mapping list', '{"field_mappings":[]}', 'non-empty list'],
    ['a mapping with no column nor default', '{"field_mappings":[{"api_name":"Email"}]}', '"default_value"'],
    ['a bad lookup module', '{"field_mappings":[{"api_name":"Email","index":1,"module":"a b"}]}', '.module'],
    [
      'a default that is not an object',
      '{"field_mappings":[{"api_name":"Email","default_value":"x"}]}',
      'field_mappings[0].default_value must be an object',
    ],
    [
      'an unknown default key',
      '{"field_mappings":[{"api_name":"Email","default_value":{"text":"x"}}]}',
      '"text"',
    ],
    [
      'an empty default',
      '{"field_mappings":[{"api_name":"Email","default_value":{}}]}',
      'must name a "value"',
    ],
  ])('refuses a job.json with %s', async (_what, text, named) => {
    const error = await refusal(inspect([leads, { name: 'job.json', data: text }]));
    expect(error.code).toBe('INVALID_JOB_JSON');
    expect(error.message).toContain('job.json');
    expect(error.message).toContain(named);
  });

  it('accepts a job.json with a BOM and refuses one that is not UTF-8', async () => {
    expect(
      (await inspect([leads, { name: 'job.json', data: '\uFEFF{"find_by":"Email"}' }])).jobOptions,
    ).toEqual({
      find_by: 'Email',
    });
    const latin1 = { name: 'job.json', data: Buffer.from('{"find_by":"\xe9"}', 'latin1') };
    expect((await refusal(inspect([leads, latin1]))).code).toBe('INVALID_JOB_JSON');
  });

  it('refuses metadata mappings past the columns with the metadata key named', async () => {
    const error = await refusal(
      inspect([leads], { 'zoho-field-mappings': '[{"api_name":"Email","index":7}]' }),
    );
    expect(error.code).toBe('INVALID_JOB_METADATA');
    expect(error.message).toContain('x-amz-meta-zoho-field-mappings[0]');
  });
});

describe('parseJobOptionsFromMetadata', () => {
  it('reads the zoho-* keys, with or without the x-amz-meta- prefix, and leaves others alone', () => {
    expect(
      parseJobOptionsFromMetadata({
        'zoho-find-by': 'Email',
        'X-Amz-Meta-Zoho-Ignore-Empty': 'TRUE',
        'zoho-field-mappings': '[{"api_name":"Last_Name","index":0,"find_by":"Name"}]',
        'zoho-module': 'Leads',
        'content-owner': 'someone',
      }),
    ).toEqual({
      find_by: 'Email',
      ignore_empty: true,
      field_mappings: [{ api_name: 'Last_Name', index: 0, find_by: 'Name' }],
    });
    expect(parseJobOptionsFromMetadata({})).toEqual({});
  });

  it.each([
    [{ 'zoho-find-by': 'e mail' }, 'x-amz-meta-zoho-find-by'],
    [{ 'zoho-ignore-empty': 'yes' }, 'x-amz-meta-zoho-ignore-empty'],
    [{ 'zoho-field-mappings': '{not json' }, 'not valid JSON'],
    [{ 'zoho-field-mappings': '{"api_name":"Email"}' }, 'non-empty list'],
    [{ 'zoho-field-mappings': '[{"api_name":"Email","extra":1}]' }, '"extra"'],
  ])('refuses %j naming the problem', (metadata, named) => {
    const error = refusalOf(() => parseJobOptionsFromMetadata(metadata));
    expect(error.code).toBe('INVALID_JOB_METADATA');
    expect(error.message).toContain(named);
  });
});

describe('job options', () => {
  it('merge key by key, the override replacing whole keys', () => {
    expect(
      mergeJobOptions(
        {
          find_by: 'Email',
          field_mappings: [
            { api_name: 'A', index: 0 },
            { api_name: 'B', index: 1 },
          ],
        },
        { field_mappings: [{ api_name: 'C', index: 2 }] },
      ),
    ).toEqual({ find_by: 'Email', field_mappings: [{ api_name: 'C', index: 2 }] });
  });

  it('keep nothing they did not check', () => {
    expect(parseJobJson('{"field_mappings":[{"api_name":"Email","index":1}]}')).toEqual({
      field_mappings: [{ api_name: 'Email', index: 1 }],
    });
    expect(refusalOf(() => parseJobJson('{"find_by":null}')).message).toContain('null');
  });
});
