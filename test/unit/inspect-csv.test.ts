import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  countCsv,
  createCsvRecordSplitter,
  csvParseOptions,
  DEFAULT_MAX_RECORD_BYTES,
} from '#lib/inspect/csv.ts';
import { csvLine } from '#lib/inspect/csv-writer.ts';
import { csvText, refusal, streamOf } from './inspect-fixtures.ts';

describe('countCsv', () => {
  it('counts rows after the header, quoted newlines inside one row', async () => {
    const facts = await countCsv(streamOf(csvText(1000), 777));
    expect(facts).toEqual({ header: ['Last_Name', 'Email', 'Description'], rows: 1000, columns: 3 });
  });

  it('strips a BOM, takes LF, CRLF or CR and skips blank lines', async () => {
    const source = '\uFEFFName,City\n\nAda,"Lon\ndon"\r\nBob,Paris\r\rCy,Rome';
    expect(await countCsv(streamOf(source, 1))).toEqual({ header: ['Name', 'City'], rows: 3, columns: 2 });
  });

  it('refuses more than 200 columns without reading further', async () => {
    const header = Array.from({ length: 201 }, (_, i) => `F${i}`).join(',');
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 1;
        this.push(pulled === 1 ? `${header}\n` : 'x,'.repeat(200).concat('x\n').repeat(100));
      },
    });
    const error = await refusal(countCsv(endless));
    expect(error.code).toBe('CSV_TOO_MANY_COLUMNS');
    expect(error.message).toContain('201 columns');
    expect(error.message).toContain('200');
    expect(endless.destroyed).toBe(true);
    expect(await countCsv(streamOf(`${header.split(',').slice(0, 200).join(',')}\n`))).toMatchObject({
      columns: 200,
    });
  });

  it('refuses an empty CSV', async () => {
    expect((await refusal(countCsv(streamOf('')))).code).toBe('CSV_EMPTY');
    expect((await refusal(countCsv(streamOf('\n\r\n')))).code).toBe('CSV_EMPTY');
  });

  it('answers zero rows for a header alone (the caller decides)', async () => {
    expect(await countCsv(streamOf('A,B'))).toEqual({ header: ['A', 'B'], rows: 0, columns: 2 });
  });

  it('refuses rows whose field count differs from the header, naming the line', async () => {
    const error = await refusal(countCsv(streamOf('A,B\n1,2\n3,4,5\n')));
    expect(error.code).toBe('INVALID_CSV');
    expect(error.message).toContain('line 3');
  });

  it('refuses an unclosed quote before it swallows the file', async () => {
    const source = `A,B\n1,"never closed\n${'2,3\n'.repeat(1000)}`;
    const error = await refusal(countCsv(streamOf(source, 100), { maxRecordBytes: 1024 }));
    expect(error.code).toBe('INVALID_CSV');
    expect(error.message).toContain('never closed');
  });

  it('passes a read error from the source through unchanged', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('S3 connection reset'));
      },
    });
    await expect(countCsv(failing)).rejects.toThrow('S3 connection reset');
  });
});

function splitAll(source: Buffer, chunkSize: number): { records: string[]; bom: boolean } {
  const splitter = createCsvRecordSplitter();
  const records: Buffer[] = [];
  for (let at = 0; at < source.length; at += chunkSize) {
    records.push(...splitter.push(source.subarray(at, at + chunkSize)));
  }
  records.push(...splitter.end());
  return { records: records.map((record) => record.toString()), bom: splitter.bom };
}

describe('createCsvRecordSplitter', () => {
  const source = 'A,B\r\n1,"x\r\ny"\r\n2,"say ""hi"", ok"\n3,"a\rb"\r4,4\r\n\r\n5,5';

  it.each([1, 2, 3, 7, 1000])('cuts records byte for byte in chunks of %i', (chunkSize) => {
    const { records, bom } = splitAll(Buffer.from(source), chunkSize);
    expect(records).toEqual([
      'A,B\r\n',
      '1,"x\r\ny"\r\n',
      '2,"say ""hi"", ok"\n',
      '3,"a\rb"\r',
      '4,4\r\n',
      '5,5',
    ]);
    expect(bom).toBe(false);
    expect(records.join('')).toBe(source.replace('\r\n\r\n5', '\r\n5'));
  });

  it.each([
    ['CRLF', csvText(500)],
    ['LF', csvText(500, { eol: '\n' })],
    ['mixed line endings', source],
  ])('agrees with csv-parse on every record (%s)', (_what, text) => {
    const { records } = splitAll(Buffer.from(text), 333);
    const options = csvParseOptions(DEFAULT_MAX_RECORD_BYTES);
    expect(records.map((record) => parse(record, options)[0])).toEqual(parse(text, options));
  });

  it.each([1, 2, 4])('removes and reports a BOM (chunks of %i)', (chunkSize) => {
    const { records, bom } = splitAll(Buffer.from('\uFEFFA\n1\n'), chunkSize);
    expect(bom).toBe(true);
    expect(records).toEqual(['A\n', '1\n']);
  });

  it('keeps a short file that only looks like the start of a BOM', () => {
    expect(splitAll(Buffer.from([0xef, 0xbb]), 1)).toEqual({
      records: [Buffer.from([0xef, 0xbb]).toString()],
      bom: false,
    });
  });
});

describe('csvLine', () => {
  it('quotes a field only when it holds a comma, a quote, CR or LF, doubling its quotes', () => {
    expect(csvLine(['plain', 'a,b', 'say "hi"', 'two\r\nlines', 'cr\r', ' spaced ', ''])).toBe(
      'plain,"a,b","say ""hi""","two\r\nlines","cr\r", spaced ,\r\n',
    );
  });

  it('writes what csv-parse reads back as the same fields', () => {
    const row = ['a,b', '"q"', 'x\ny', 'é – 日本'];
    expect(parse(csvLine(row))).toEqual([row]);
  });
});
