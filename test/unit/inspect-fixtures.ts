/** Real files built by hand for the inspect tests: image headers, ZIPs (via yazl), CSVs. */
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import yauzl from 'yauzl';
import { ZipFile } from 'yazl';
import { InspectionError } from '#lib/inspect/errors.ts';
import type { RangeReader } from '#lib/inspect/range-reader.ts';

export interface ZipInput {
  name: string;
  data: Buffer | string;
  compress?: boolean;
  zip64?: boolean;
}

export async function buildZip(
  files: ZipInput[],
  options: { comment?: string; zip64?: boolean; directories?: string[] } = {},
): Promise<Buffer> {
  const zip = new ZipFile();
  for (const directory of options.directories ?? []) zip.addEmptyDirectory(directory);
  for (const file of files) {
    zip.addBuffer(Buffer.from(file.data), file.name, {
      compress: file.compress ?? true,
      forceZip64Format: file.zip64 ?? false,
      mtime: new Date('2024-01-02T03:04:05Z'),
    });
  }
  zip.end({ forceZip64Format: options.zip64 ?? false, comment: options.comment ?? '' });
  return Buffer.concat(await (zip.outputStream as Readable).toArray());
}

export interface ReadLog {
  reads: Array<[number, number]>;
  streams: Array<[number, number]>;
}

/** Wraps a reader and records every range asked of it. */
export function recordingReader(inner: RangeReader): RangeReader & { log: ReadLog } {
  const log: ReadLog = { reads: [], streams: [] };
  return {
    size: inner.size,
    log,
    read(start, end) {
      log.reads.push([start, end]);
      return inner.read(start, end);
    },
    stream(start = 0, end = inner.size) {
      log.streams.push([start, end]);
      return inner.stream(start, end);
    },
  };
}

/** A reader of a given size that must never be read: proves a check decided from the size alone. */
export function unreadableReader(size: number): RangeReader {
  return {
    size,
    read: () => Promise.reject(new Error('must not read')),
    stream: () => Promise.reject(new Error('must not read')),
  };
}

export function bytesRead(log: ReadLog): number {
  return [...log.reads, ...log.streams].reduce((sum, [start, end]) => sum + (end - start), 0);
}

export function png(width: number, height: number): Buffer {
  const header = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(header, 0);
  header.writeUInt32BE(13, 8);
  header.write('IHDR', 12, 'latin1');
  header.writeUInt32BE(width, 16);
  header.writeUInt32BE(height, 20);
  header.writeUInt8(8, 24); // bit depth
  header.writeUInt8(6, 25); // RGBA
  return Buffer.concat([header, Buffer.alloc(100)]);
}

export function gif(width: number, height: number, version = 'GIF89a'): Buffer {
  const header = Buffer.alloc(13);
  header.write(version, 0, 'latin1');
  header.writeUInt16LE(width, 6);
  header.writeUInt16LE(height, 8);
  return Buffer.concat([header, Buffer.from([0x3b])]);
}

export function bmp(width: number, height: number, { core = false } = {}): Buffer {
  const infoSize = core ? 12 : 40;
  const file = Buffer.alloc(14 + infoSize + 16);
  file.write('BM', 0, 'latin1');
  file.writeUInt32LE(file.length, 2);
  file.writeUInt32LE(14 + infoSize, 10);
  file.writeUInt32LE(infoSize, 14);
  if (core) {
    file.writeUInt16LE(width, 18);
    file.writeUInt16LE(height, 20);
  } else {
    file.writeInt32LE(width, 18);
    file.writeInt32LE(height, 22); // negative: top-down rows
  }
  return file;
}

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([head, payload]);
}

/**
 * A JPEG: SOI, the given segments before the frame (e.g. big APP1 EXIF blocks), a DQT and DHT,
 * the frame header (SOF0 unless told), then a fake scan and EOI.
 */
export function jpeg(
  width: number,
  height: number,
  { before = [] as Buffer[], sofMarker = 0xc0, scanBytes = 1000 } = {},
): Buffer {
  const frame = Buffer.alloc(15);
  frame.writeUInt8(8, 0);
  frame.writeUInt16BE(height, 1);
  frame.writeUInt16BE(width, 3);
  frame.writeUInt8(3, 5);
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    ...before,
    segment(0xdb, Buffer.alloc(65, 1)),
    segment(0xc4, Buffer.alloc(30, 2)),
    segment(sofMarker, frame),
    segment(0xda, Buffer.alloc(10)),
    Buffer.alloc(scanBytes, 0x55),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** An APPn segment of the largest size a segment can have (65,533 payload bytes). */
export function bigAppSegment(n = 1, payloadBytes = 65_533): Buffer {
  const payload = Buffer.alloc(payloadBytes, 0xab);
  payload.write('Exif\0\0', 0, 'latin1');
  return segment(0xe0 + n, payload);
}

/** CSV text (CRLF) whose rows hold quoted commas, quotes and newlines. */
export function csvText(rows: number, { header = 'Last_Name,Email,Description', eol = '\r\n' } = {}): string {
  const lines = [header];
  for (let i = 0; i < rows; i += 1) {
    const description = i % 3 === 0 ? `"line one of ${i}\r\nline two, with ""quotes"""` : `plain ${i}`;
    lines.push(`Name${i},user${i}@example.com,${description}`);
  }
  return lines.join(eol) + eol;
}

export function streamOf(data: Buffer | string, chunkSize = 64 * 1024): Readable {
  const bytes = Buffer.from(data);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunkSize) chunks.push(bytes.subarray(at, at + chunkSize));
  return Readable.from(chunks, { objectMode: false });
}

/** Every entry of a ZIP as yauzl (an independent reader) sees it, and a way to read one. */
export async function yauzlOpen(
  zip: Buffer,
): Promise<{ entries: yauzl.Entry[]; read(entry: yauzl.Entry): Promise<Buffer> }> {
  const file = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(zip, { lazyEntries: false }, (error, opened) =>
      error ? reject(error) : resolve(opened),
    ),
  );
  const entries: yauzl.Entry[] = [];
  file.on('entry', (entry: yauzl.Entry) => entries.push(entry));
  await new Promise((resolve, reject) => file.on('end', resolve).on('error', reject));
  return {
    entries,
    read: (entry) =>
      new Promise<Buffer>((resolve, reject) =>
        file.openReadStream(entry, (error, stream) =>
          error ? reject(error) : stream.toArray().then((chunks) => resolve(Buffer.concat(chunks)), reject),
        ),
      ),
  };
}

/** The InspectionError a promise is refused with (the test fails if it resolves or fails otherwise). */
export async function refusal(promise: Promise<unknown>): Promise<InspectionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InspectionError);
  return error as InspectionError;
}

/** The InspectionError a check throws (the test fails if it returns or throws otherwise). */
export function refusalOf(run: () => unknown): InspectionError {
  try {
    run();
  } catch (error) {
    if (error instanceof InspectionError) return error;
    throw error;
  }
  throw new Error('expected an InspectionError');
}
