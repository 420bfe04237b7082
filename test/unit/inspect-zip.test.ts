import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bufferRangeReader } from '#lib/inspect/range-reader.ts';
import { listZipEntries, openEntry, type ZipEntry } from '#lib/inspect/zip.ts';
import { buildZip, png, recordingReader, refusal, unreadableReader, yauzlOpen } from './inspect-fixtures.ts';

/** What yauzl, an independent reader, sees in the same ZIP. */
async function yauzlEntries(zip: Buffer): Promise<ZipEntry[]> {
  const { entries } = await yauzlOpen(zip);
  return entries.map((entry) => ({
    name: entry.fileName,
    compressedSize: entry.compressedSize,
    uncompressedSize: entry.uncompressedSize,
    method: entry.compressionMethod,
    offset: entry.relativeOffsetOfLocalHeader,
    crc32: entry.crc32,
    isDirectory: entry.fileName.endsWith('/'),
  }));
}

async function entryText(zip: Buffer, entry: ZipEntry): Promise<Buffer> {
  return Buffer.concat(await (await openEntry(bufferRangeReader(zip), entry)).toArray());
}

const text = 'Last_Name,Email\nDoe,doe@example.com\n'.repeat(500);

describe('listZipEntries', () => {
  it('lists stored, deflated and directory entries as yauzl does', async () => {
    const zip = await buildZip(
      [
        { name: 'leads.csv', data: text },
        { name: 'photo.png', data: png(10, 10), compress: false },
        { name: 'data/élève.txt', data: 'unicode name' },
      ],
      { directories: ['data/'] },
    );
    const entries = await listZipEntries(bufferRangeReader(zip));
    expect(entries).toEqual(await yauzlEntries(zip));
    expect(entries.map((entry) => [entry.name, entry.method, entry.isDirectory])).toEqual([
      ['data/', 0, true],
      ['leads.csv', 8, false],
      ['photo.png', 0, false],
      ['data/élève.txt', 8, false],
    ]);
  });

  it('finds the directory behind a ZIP comment', async () => {
    const zip = await buildZip([{ name: 'a.csv', data: 'x\n1\n' }], { comment: 'c'.repeat(5000) });
    expect((await listZipEntries(bufferRangeReader(zip))).map((entry) => entry.name)).toEqual(['a.csv']);
  });

  it('reads ZIP64 records', async () => {
    const zip = await buildZip(
      [
        { name: 'big.csv', data: text, zip64: true },
        { name: 'job.json', data: '{}' },
      ],
      {
        zip64: true,
      },
    );
    expect(zip.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true);
    const entries = await listZipEntries(bufferRangeReader(zip));
    expect(entries).toEqual(await yauzlEntries(zip));
    expect((await entryText(zip, entries[0] as ZipEntry)).toString()).toBe(text);
  });

  it('reads only the end of a large ZIP and its first bytes', async () => {
    const zip = await buildZip([{ name: 'noise.bin', data: randomBytes(300_000), compress: false }]);
    const reader = recordingReader(bufferRangeReader(zip));
    await listZipEntries(reader);
    expect(reader.log.streams).toEqual([]);
    expect(reader.log.reads[0]).toEqual([zip.length - 65_557, zip.length]);
    expect(reader.log.reads).toContainEqual([0, 4]);
  });

  it('refuses what is not a ZIP', async () => {
    for (const file of [
      Buffer.from('Last_Name,Email\nDoe,doe@example.com\n'),
      png(100, 100),
      Buffer.from('PK'),
      Buffer.concat([Buffer.from('MZ self-extractor stub'), await buildZip([{ name: 'a.csv', data: 'x' }])]),
    ]) {
      const error = await refusal(listZipEntries(bufferRangeReader(file)));
      expect(error.code).toBe('NOT_A_ZIP');
    }
  });

  it('refuses an empty file and a ZIP over 25 MB without reading it', async () => {
    expect((await refusal(listZipEntries(bufferRangeReader(Buffer.alloc(0))))).code).toBe('EMPTY_FILE');
    const error = await refusal(listZipEntries(unreadableReader(25 * 1024 * 1024 + 1)));
    expect(error.code).toBe('ZIP_TOO_LARGE');
    expect(error.message).toContain('25 MB');
    expect(await listZipEntries(bufferRangeReader(await buildZip([])))).toEqual([]);
  });

  it.each([
    ['../x.csv', 'ab/x.csv'],
    ['/b/x.csv', 'ab/x.csv'],
    ['C:/x.csv', 'ab/x.csv'],
    ['a\\..\\.c', 'a/b/c.c'],
  ])('refuses the entry name %j', async (evil, harmless) => {
    const zip = await buildZip([{ name: harmless, data: 'x' }]);
    const patched = Buffer.from(zip.toString('latin1').replaceAll(harmless, evil), 'latin1');
    const error = await refusal(listZipEntries(bufferRangeReader(patched)));
    expect(error.code).toBe('ZIP_UNSAFE_ENTRY_NAME');
    expect(error.message).toContain(evil);
  });

  it('refuses encrypted entries and unknown compression methods', async () => {
    const zip = await buildZip([{ name: 'secret.csv', data: text }]);
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const encrypted = Buffer.from(zip);
    encrypted.writeUInt16LE(encrypted.readUInt16LE(central + 8) | 1, central + 8);
    expect((await refusal(listZipEntries(bufferRangeReader(encrypted)))).code).toBe('ZIP_ENCRYPTED');
    const bzip2 = Buffer.from(zip);
    bzip2.writeUInt16LE(12, central + 10);
    const error = await refusal(listZipEntries(bufferRangeReader(bzip2)));
    expect(error.code).toBe('UNSUPPORTED_ZIP');
    expect(error.message).toContain('method 12');
  });

  it('refuses more entries than allowed', async () => {
    const zip = await buildZip([1, 2, 3].map((n) => ({ name: `${n}.txt`, data: 'x' })));
    expect((await refusal(listZipEntries(bufferRangeReader(zip), { maxEntries: 2 }))).code).toBe(
      'ZIP_TOO_MANY_ENTRIES',
    );
  });

  it('refuses a truncated ZIP', async () => {
    const zip = await buildZip([{ name: 'a.csv', data: text }]);
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    const broken = Buffer.concat([zip.subarray(0, central - 10), zip.subarray(central)]);
    expect((await refusal(listZipEntries(bufferRangeReader(broken)))).code).toBe('CORRUPT_ZIP');
  });
});

describe('openEntry', () => {
  it('streams exactly the entry, stored or deflated, reading only its range', async () => {
    const image = png(10, 10);
    const zip = await buildZip([
      { name: 'leads.csv', data: text },
      { name: 'photo.png', data: image, compress: false },
    ]);
    const reader = recordingReader(bufferRangeReader(zip));
    const [csv, photo] = (await listZipEntries(reader)) as [ZipEntry, ZipEntry];
    expect(csv.compressedSize).toBeLessThan(csv.uncompressedSize);
    expect(Buffer.concat(await (await openEntry(reader, csv)).toArray()).toString()).toBe(text);
    expect(Buffer.concat(await (await openEntry(reader, photo)).toArray())).toEqual(image);
    const [csvRange] = reader.log.streams;
    expect(csvRange?.[1]).toBe((csvRange?.[0] ?? 0) + csv.compressedSize);
    expect(reader.log.streams.every(([start, end]) => end - start < zip.length / 2)).toBe(true);
  });

  it('fails the stream when the data does not inflate', async () => {
    const zip = await buildZip([{ name: 'a.csv', data: text }]);
    const [entry] = (await listZipEntries(bufferRangeReader(zip))) as [ZipEntry];
    const broken = Buffer.from(zip);
    broken.fill(0xff, entry.offset + 30 + 'a.csv'.length, entry.offset + 30 + 'a.csv'.length + 8);
    const error = await refusal(entryText(broken, entry));
    expect(error.code).toBe('CORRUPT_ZIP');
  });

  it('fails the stream when the CRC-32 does not match', async () => {
    const zip = await buildZip([{ name: 'a.txt', data: 'hello world', compress: false }]);
    const [entry] = (await listZipEntries(bufferRangeReader(zip))) as [ZipEntry];
    const broken = Buffer.from(zip);
    broken.write('J', entry.offset + 30 + 'a.txt'.length, 'latin1');
    const error = await refusal(entryText(broken, entry));
    expect(error.code).toBe('CORRUPT_ZIP');
    expect(error.message).toContain('CRC-32');
  });

  it('stops a ZIP bomb: data that inflates past its declared size', async () => {
    const zip = await buildZip([{ name: 'bomb.csv', data: 'a'.repeat(1_000_000) }]);
    const [entry] = (await listZipEntries(bufferRangeReader(zip))) as [ZipEntry];
    const error = await refusal(entryText(zip, { ...entry, uncompressedSize: 1000 }));
    expect(error.code).toBe('CORRUPT_ZIP');
    expect(error.message).toContain('inflates past');
  });

  it('passes a read error from the source through unchanged', async () => {
    const zip = await buildZip([{ name: 'a.csv', data: text }]);
    const inner = bufferRangeReader(zip);
    const [entry] = (await listZipEntries(inner)) as [ZipEntry];
    const failing = { ...inner, stream: () => Promise.reject(new Error('S3 connection reset')) };
    await expect(openEntry(failing, entry)).rejects.toThrow('S3 connection reset');
  });
});
