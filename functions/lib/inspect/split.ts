/**
 * Splits one CSV into ZIPs Zoho bulk write accepts (each CSV ≤ 25,000 records), streaming:
 * every record's original bytes go straight into the part's ZIP entry, the header line is
 * repeated at the top of every part, and no more than one record is held at a time.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { ZipFile } from 'yazl';
import {
  createCsvRecordSplitter,
  csvParseOptions,
  DEFAULT_MAX_RECORD_BYTES,
  toInspectionError,
} from './csv.ts';
import { formatOverLimit, InspectionError } from './errors.ts';
import { BULK_CSV_MAX_ROWS, BULK_ZIP_MAX_BYTES } from './limits.ts';

export interface SplitOptions {
  /** Records per part, header not counted. Default 25,000 (Zoho's limit per CSV). */
  rowsPerPart?: number | undefined;
  /** Folder the part ZIPs are written to (e.g. a fresh folder under /tmp). */
  dir: string;
  /** The CSV's name, used inside each part and for the part files' names. */
  entryName: string;
  /** A part larger than this is refused. Default 25 MB (Zoho's limit per ZIP). */
  maxPartBytes?: number | undefined;
  maxRecordBytes?: number | undefined;
  /**
   * Told of each part as soon as it is written (its upload may start while the next is cut);
   * the split waits for it, so it can hold the split back.
   */
  onPart?: ((part: CsvPart, index: number) => Promise<void>) | undefined;
}

export interface CsvPart {
  path: string;
  /** Bytes of the part's ZIP file. */
  size: number;
  /** Records in the part, header not counted. */
  rows: number;
}

/**
 * The first record is the header. A CSV of at most `rowsPerPart` rows yields one part (a header
 * with no rows too). On failure the parts already written are removed.
 */
export async function splitCsvToZips(source: Readable, options: SplitOptions): Promise<CsvPart[]> {
  const rowsPerPart = options.rowsPerPart ?? BULK_CSV_MAX_ROWS;
  if (!Number.isSafeInteger(rowsPerPart) || rowsPerPart < 1) {
    throw new RangeError(`rowsPerPart must be a positive whole number, got ${rowsPerPart}`);
  }
  const maxPartBytes = options.maxPartBytes ?? BULK_ZIP_MAX_BYTES;
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const csvName = basename(options.entryName);
  const label = `"${csvName}"`;
  const stem = csvName.replace(/\.csv$/i, '').replace(/[^\p{L}\p{N}._-]+/gu, '_') || 'data';

  const splitter = createCsvRecordSplitter(maxRecordBytes, label);
  const validator = createValidator(maxRecordBytes, label);
  const parts: CsvPart[] = [];
  const paths: string[] = [];
  let header: Buffer | undefined;
  let part: PartWriter | undefined;
  let partRows = 0;
  let totalRows = 0;

  const closePart = async (current: PartWriter) => {
    const size = await current.finish();
    const done = { path: current.path, size, rows: partRows };
    parts.push(done);
    part = undefined;
    await options.onPart?.(done, parts.length - 1);
  };
  const openPart = (headerLine: Buffer): PartWriter => {
    const path = join(options.dir, `${stem}-part-${String(parts.length + 1).padStart(3, '0')}.zip`);
    paths.push(path);
    partRows = 0;
    return startPart(path, csvName, maxPartBytes, headerLine, splitter.bom);
  };
  const take = async (record: Buffer) => {
    if (header === undefined) {
      header = record;
      return;
    }
    if (part !== undefined && partRows === rowsPerPart) await closePart(part);
    part ??= openPart(header);
    await part.write(record);
    partRows += 1;
    totalRows += 1;
  };

  try {
    for await (const chunk of source as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      await validator.write(bytes);
      for (const record of splitter.push(bytes)) await take(record);
    }
    for (const record of splitter.end()) await take(record);
    const parsedRecords = await validator.end();
    if (header === undefined)
      throw new InspectionError('CSV_EMPTY', `${label} is empty: it has not even a header line.`);
    part ??= openPart(header);
    await closePart(part);
    if (parsedRecords !== totalRows + 1) {
      // Cannot happen for CSV csv-parse accepts; refuse rather than push rows cut in the wrong place.
      throw new InspectionError(
        'INVALID_CSV',
        `${label} could not be split safely: ${totalRows + 1} records by line endings, ${parsedRecords} by the CSV parser.`,
      );
    }
    return parts;
  } catch (error) {
    source.destroy();
    validator.abort();
    await part?.abort();
    await Promise.all(paths.map((path) => rm(path, { force: true })));
    throw error;
  }
}

const BATCH_BYTES = 64 * 1024;

interface PartWriter {
  path: string;
  write(record: Buffer): Promise<void>;
  /** Closes the ZIP and answers its size in bytes. */
  finish(): Promise<number>;
  abort(): Promise<void>;
}

function startPart(
  path: string,
  csvName: string,
  maxBytes: number,
  headerLine: Buffer,
  bom: boolean,
): PartWriter {
  const zip = new ZipFile();
  const csv = new PassThrough();
  const controller = new AbortController();
  zip.on('error', (error: unknown) => controller.abort(error));
  zip.addReadStream(csv, csvName);
  zip.end();
  let size = 0;
  const sizeGuard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size <= maxBytes) {
        callback(null, chunk);
        return;
      }
      const text = formatOverLimit(size, maxBytes);
      callback(
        new InspectionError(
          'ZIP_PART_TOO_LARGE',
          `A part of "${csvName}" compresses to more than ${text.limit} (Zoho's limit per ZIP); split the data into smaller files.`,
          { csv: csvName, maxBytes },
        ),
      );
    },
  });
  const written = pipeline(zip.outputStream as Readable, sizeGuard, createWriteStream(path), {
    signal: controller.signal,
  });
  written.catch(() => {}); // observed by write() and finish()

  // Records are small; zlib is slow when fed one at a time, so they go in by batches.
  let batch: Buffer[] = bom ? [Buffer.from([0xef, 0xbb, 0xbf]), headerLine] : [headerLine];
  let batchBytes = 0;
  const flush = async () => {
    const bytes = Buffer.concat(batch);
    batch = [];
    batchBytes = 0;
    if (!csv.write(bytes)) await Promise.race([once(csv, 'drain'), written]);
  };

  return {
    path,
    async write(record) {
      batch.push(record);
      batchBytes += record.length;
      if (batchBytes >= BATCH_BYTES) await flush();
    },
    async finish() {
      await flush();
      csv.end();
      await written;
      return size;
    },
    async abort() {
      controller.abort();
      csv.destroy();
      await written.catch(() => {});
    },
  };
}

interface Validator {
  write(chunk: Buffer): Promise<void>;
  /** Answers how many records csv-parse saw, header included. */
  end(): Promise<number>;
  abort(): void;
}

/** csv-parse reads the same bytes alongside the splitter: it refuses what is not valid CSV and counts records. */
function createValidator(maxRecordBytes: number, label: string): Validator {
  const parser = parse(csvParseOptions(maxRecordBytes));
  let records = 0;
  let failed = false;
  parser.on('data', () => {
    records += 1;
  });
  parser.on('error', () => {
    failed = true;
  });
  const done = once(parser, 'end').then(
    () => records,
    (error: unknown) => {
      throw toInspectionError(error, label, maxRecordBytes);
    },
  );
  done.catch(() => {}); // observed by write() and end()
  return {
    async write(chunk) {
      if (failed) await done;
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), done]);
    },
    async end() {
      parser.end();
      return done;
    },
    abort() {
      parser.destroy();
    },
  };
}
