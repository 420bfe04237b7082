import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { bareCsvName, bulkFileType, inspectBulkSource, openBulkSource } from '#lib/inspect/bulk-source.ts';
import { MB } from '#lib/inspect/limits.ts';
import { bufferRangeReader } from '#lib/inspect/range-reader.ts';
import { buildZip, csvText, refusal } from './inspect-fixtures.ts';

const text = async (stream: Readable | undefined) =>
  stream === undefined ? undefined : Buffer.concat(await stream.toArray()).toString();

describe('bulk files as users have them', () => {
  it('takes .zip and .csv in any case, and refuses anything else saying what it takes', () => {
    expect(['a.zip', 'A.ZIP', 'a.Zip'].map(bulkFileType)).toEqual(['zip', 'zip', 'zip']);
    expect(['a.csv', 'A.CSV'].map(bulkFileType)).toEqual(['csv', 'csv']);
    for (const name of ['leads.xlsx', 'leads', 'leads.csv.txt', 'zip']) {
      const error = (() => {
        try {
          bulkFileType(name);
        } catch (caught) {
          return caught as { code: string; message: string };
        }
        throw new Error(`${name} was taken`);
      })();
      expect(error.code).toBe('NOT_A_ZIP');
      expect(error.message).toContain(`"${name}" is neither a .zip nor a .csv`);
    }
    expect(bareCsvName('LEADS.CSV')).toBe('LEADS.csv');
  });

  it('checks a bare CSV as a zipped one: its facts, and its options from metadata only', async () => {
    const reader = bufferRangeReader(Buffer.from(csvText(12)));
    const source = await inspectBulkSource(reader, 'Spring.CSV', {
      metadata: { 'zoho-find-by': 'Email' },
      operation: 'update',
    });
    expect(source.type).toBe('csv');
    expect(source.csvs).toEqual([
      { name: 'Spring.csv', header: ['Last_Name', 'Email', 'Description'], rows: 12, columns: 3 },
    ]);
    expect(source.jobOptions).toEqual({ find_by: 'Email' });
    expect(await text(await source.open('Spring.csv'))).toBe(csvText(12));
    expect(await text(await source.jobJson())).toBe('{"find_by":"Email"}');
  });

  it('holds a bare CSV to the bytes one import takes, not to the 25 MB of a ZIP', async () => {
    // 26 rows of a little under 1 MB each: over 25 MB of CSV, split later into ZIPs far smaller.
    const wide = 'x'.repeat(MB - 100);
    const csv = `Last_Name,Description\r\n${Array.from({ length: 26 }, (_, i) => `W${i},${wide}\r\n`).join('')}`;
    const reader = bufferRangeReader(Buffer.from(csv));
    expect(reader.size).toBeGreaterThan(25 * MB);
    expect((await inspectBulkSource(reader, 'wide.csv')).csvs[0]?.rows).toBe(26);
    const error = await refusal(inspectBulkSource(reader, 'wide.csv', { maxInflatedBytes: 25 * MB }));
    expect(error.code).toBe('BULK_TOO_LARGE_INFLATED');
    expect(error.message).toContain('"wide.csv" is 26');
  });

  it.each([
    [
      'mappings past its columns',
      { 'zoho-field-mappings': '[{"api_name":"Email","index":5}]' },
      'INVALID_JOB_METADATA',
    ],
    ['an update with no way to find records', {}, 'BULK_UPDATE_NEEDS_FIND_BY'],
  ])('refuses a bare CSV with %s', async (_what, metadata, code) => {
    const reader = bufferRangeReader(Buffer.from('Last_Name,Description\r\nCurie,x\r\n'));
    const error = await refusal(inspectBulkSource(reader, 'a.csv', { metadata, operation: 'update' }));
    expect(error.code).toBe(code);
  });

  it('opens a ZIP again for its rows and job.json, nothing counted', async () => {
    const zip = await buildZip([
      { name: 'leads.csv', data: csvText(2) },
      { name: 'job.json', data: '{"ignore_empty":true}' },
    ]);
    const source = await openBulkSource(bufferRangeReader(zip), 'x.ZIP', { 'zoho-find-by': 'Email' });
    expect(source.csvNames).toEqual(['leads.csv']);
    expect(source.jobOptions).toEqual({ ignore_empty: true, find_by: 'Email' });
    expect(await text(await source.open('leads.csv'))).toBe(csvText(2));
    expect(await text(await source.jobJson())).toBe('{"ignore_empty":true}');
  });
});
