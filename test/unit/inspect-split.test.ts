import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bufferRangeReader } from '#lib/inspect/range-reader.ts';
import { splitCsvToZips } from '#lib/inspect/split.ts';
import { listZipEntries, openEntry, type ZipEntry } from '#lib/inspect/zip.ts';
import { buildZip, csvText, refusal, streamOf, yauzlOpen } from './inspect-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inspect-split-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The one entry of a part, read back with yauzl (an independent ZIP reader). */
async function readPart(path: string): Promise<{ name: string; text: string }> {
  const zip = await yauzlOpen(await readFile(path));
  expect(zip.entries).toHaveLength(1);
  const [entry] = zip.entries as [(typeof zip.entries)[number]];
  return { name: entry.fileName, text: (await zip.read(entry)).toString() };
}

const header = 'Last_Name,Email,Description';

describe('splitCsvToZips', () => {
  it('splits 60,000 rows with quoted newlines into 25,000 / 25,000 / 10,000, each with the header', async () => {
    const source = csvText(60_000);
    const zip = await buildZip([{ name: 'leads.csv', data: source }]);
    const reader = bufferRangeReader(zip);
    const [entry] = (await listZipEntries(reader)) as [ZipEntry];

    const parts = await splitCsvToZips(await openEntry(reader, entry), { dir, entryName: entry.name });

    expect(parts.map((part) => part.rows)).toEqual([25_000, 25_000, 10_000]);
    expect(parts.map((part) => part.path)).toEqual([1, 2, 3].map((n) => join(dir, `leads-part-00${n}.zip`)));
    const sourceRecords = parse(source) as string[][];
    const rebuilt: string[][] = [];
    let body = '';
    for (const part of parts) {
      expect(part.size).toBe((await stat(part.path)).size);
      const { name, text } = await readPart(part.path);
      expect(name).toBe('leads.csv');
      expect(text.startsWith(`${header}\r\n`)).toBe(true);
      const records = parse(text) as string[][];
      expect(records[0]).toEqual(header.split(','));
      expect(records.length - 1).toBe(part.rows);
      rebuilt.push(...records.slice(1));
      body += text.slice(header.length + 2);
    }
    expect(rebuilt).toEqual(sourceRecords.slice(1));
    // Byte for byte: the rows keep their original text, quoting and line endings.
    expect(body).toBe(source.slice(header.length + 2));
  });

  it('yields one part for a CSV within the limit, even a header alone', async () => {
    const small = await splitCsvToZips(streamOf(csvText(10)), { dir, entryName: 'small.csv' });
    expect(small).toHaveLength(1);
    expect(small[0]?.rows).toBe(10);
    expect((await readPart(small[0]?.path ?? '')).text).toBe(csvText(10));

    const empty = await splitCsvToZips(streamOf('A,B'), { dir, entryName: 'empty.csv' });
    expect(empty.map((part) => part.rows)).toEqual([0]);
    expect((await readPart(empty[0]?.path ?? '')).text).toBe('A,B');
  });

  it('makes no empty last part when the rows divide evenly', async () => {
    const parts = await splitCsvToZips(streamOf('H\n1\n2\n3\n4\n'), {
      dir,
      entryName: 'even.csv',
      rowsPerPart: 2,
    });
    expect(parts.map((part) => part.rows)).toEqual([2, 2]);
    expect((await readPart(parts[1]?.path ?? '')).text).toBe('H\n3\n4\n');
  });

  it('keeps a BOM at the top of every part and the last row without its line ending', async () => {
    const parts = await splitCsvToZips(streamOf('\uFEFFH\r\n1\r\n2\r\n3', 1), {
      dir,
      entryName: 'data/Über uns.csv',
      rowsPerPart: 2,
    });
    expect(parts.map((part) => part.path)).toEqual([
      join(dir, 'Über_uns-part-001.zip'),
      join(dir, 'Über_uns-part-002.zip'),
    ]);
    const texts = await Promise.all(parts.map(async (part) => (await readPart(part.path)).text));
    expect(texts).toEqual(['\uFEFFH\r\n1\r\n2\r\n', '\uFEFFH\r\n3']);
    expect((await readPart(parts[0]?.path ?? '')).name).toBe('Über uns.csv');
  });

  it('refuses a part over the ZIP size limit and leaves no file behind', async () => {
    const error = await refusal(
      splitCsvToZips(streamOf(csvText(5000)), {
        dir,
        entryName: 'big.csv',
        rowsPerPart: 3000,
        maxPartBytes: 10_000,
      }),
    );
    expect(error.code).toBe('ZIP_PART_TOO_LARGE');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses invalid CSV found in a later part and leaves no file behind', async () => {
    const source = `${csvText(100)}1,2\n`;
    const error = await refusal(
      splitCsvToZips(streamOf(source, 500), { dir, entryName: 'bad.csv', rowsPerPart: 10 }),
    );
    expect(error.code).toBe('INVALID_CSV');
    expect(error.message).toContain('bad.csv');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses an empty CSV', async () => {
    expect((await refusal(splitCsvToZips(streamOf(''), { dir, entryName: 'none.csv' }))).code).toBe(
      'CSV_EMPTY',
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('passes a read error through and removes the parts written so far', async () => {
    const chunks = [csvText(50)];
    const failing = new Readable({
      read() {
        const next = chunks.shift();
        if (next === undefined) this.destroy(new Error('S3 connection reset'));
        else this.push(next);
      },
    });
    await expect(splitCsvToZips(failing, { dir, entryName: 'x.csv', rowsPerPart: 10 })).rejects.toThrow(
      'S3 connection reset',
    );
    expect(await readdir(dir)).toEqual([]);
  });
});
