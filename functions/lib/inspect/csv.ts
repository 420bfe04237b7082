/**
 * Streams a CSV once to count it, never holding more than one record: its header, how many
 * rows follow, and how many columns it has. Accepts RFC 4180 CSV (comma, double quotes, quoted
 * newlines, CRLF or LF, an optional UTF-8 BOM); blank lines are skipped as Zoho does.
 */
import { pipeline, type Readable } from 'node:stream';
import { CsvError, type Options, parse } from 'csv-parse';
import { formatBytes, InspectionError } from './errors.ts';
import { BULK_CSV_MAX_COLUMNS, MB } from './limits.ts';

export interface CsvFacts {
  header: string[];
  /** Records after the header. */
  rows: number;
  columns: number;
}

export interface CsvLimits {
  /** Default 200 (Zoho bulk write). */
  maxColumns?: number | undefined;
  /** The longest record accepted; past it an unclosed quote is the usual cause. Default 1 MB. */
  maxRecordBytes?: number | undefined;
  /** Named in messages, e.g. the ZIP entry's name. */
  name?: string | undefined;
  /** The most rows (after the header) accepted: counting stops at the first one over. Default none. */
  maxRows?: number | undefined;
}

export const DEFAULT_MAX_RECORD_BYTES = MB;

/** The csv-parse options every reader of a bulk CSV shares, so they all agree on what a record is. */
export function csvParseOptions(maxRecordBytes: number): Options {
  return {
    bom: true,
    skip_empty_lines: true,
    max_record_size: maxRecordBytes,
    // Left to itself csv-parse settles on the first line ending it meets and then refuses the others.
    record_delimiter: ['\r\n', '\n', '\r'],
  };
}

export async function countCsv(stream: Readable, limits: CsvLimits = {}): Promise<CsvFacts> {
  const maxColumns = limits.maxColumns ?? BULK_CSV_MAX_COLUMNS;
  const maxRecordBytes = limits.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const name = limits.name ?? 'The CSV';
  const records = pipeline(stream, parse(csvParseOptions(maxRecordBytes)), () => {});
  let header: string[] | undefined;
  let rows = 0;
  try {
    for await (const record of records as AsyncIterable<string[]>) {
      if (header !== undefined) {
        rows += 1;
        if (limits.maxRows !== undefined && rows > limits.maxRows) throw tooManyRows(name, limits.maxRows);
        continue;
      }
      header = record;
      checkHeaderNames(header, name);
      if (header.length > maxColumns) {
        throw new InspectionError(
          'CSV_TOO_MANY_COLUMNS',
          `${name} has ${header.length} columns; Zoho CRM bulk write accepts at most ${maxColumns}. Remove columns or split the file by columns.`,
          { columns: header.length, maxColumns },
        );
      }
    }
  } catch (error) {
    stream.destroy();
    throw toInspectionError(error, name, maxRecordBytes);
  }
  if (header === undefined) {
    throw new InspectionError('CSV_EMPTY', `${name} is empty: it has not even a header line.`);
  }
  return { header, rows, columns: header.length };
}

function tooManyRows(name: string, maxRows: number): InspectionError {
  return new InspectionError(
    'BULK_TOO_MANY_ROWS',
    `${name} has more than ${maxRows.toLocaleString('en-US')} rows, the most one import takes (BULK_MAX_ROWS): split it into several files.`,
    { maxRows },
  );
}

/** Zoho maps columns by their header names: an empty one (`a,,b`) names no field. */
function checkHeaderNames(header: string[], name: string): void {
  const empty = header.flatMap((column, index) => (column.trim() === '' ? [index + 1] : []));
  if (empty.length === 0) return;
  throw new InspectionError(
    'CSV_EMPTY_HEADER',
    `${name} has no name for column ${empty.join(', ')} of its header line: name every column after the Zoho field it fills, or remove the empty ones.`,
    { columns: empty },
  );
}

/** csv-parse's refusals become INVALID_CSV with the line; anything else (an S3 or ZIP error) passes through. */
export function toInspectionError(error: unknown, name: string, maxRecordBytes: number): unknown {
  if (!(error instanceof CsvError)) return error;
  const line = typeof error.lines === 'number' ? ` (line ${error.lines})` : '';
  const hint =
    error.code === 'CSV_MAX_RECORD_SIZE'
      ? `a record is longer than ${formatBytes(maxRecordBytes)}; a quote that is never closed is the usual cause`
      : error.message;
  return new InspectionError(
    'INVALID_CSV',
    `${name} is not valid CSV${line}: ${hint}.`,
    { csvCode: error.code },
    error,
  );
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

export interface CsvRecordSplitter {
  /** The complete records this chunk ends, each with its own line ending, byte for byte. */
  push(chunk: Buffer): Buffer[];
  /** The last record, if the file does not end with a line ending. */
  end(): Buffer[];
  /** Whether the source began with a UTF-8 BOM (removed from the records). */
  readonly bom: boolean;
}

/**
 * Cuts a CSV byte stream into its records without decoding them, keeping each record's exact
 * text (quoted newlines included). A record ends at CR, LF or CRLF outside double quotes; for
 * RFC 4180 CSV, which csv-parse checks, that is exactly where csv-parse ends it. Used instead of
 * csv-parse's `raw` option, which drops the LF of a CRLF line ending (csv-parse 7.0.3).
 */
export function createCsvRecordSplitter(
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
  name = 'The CSV',
): CsvRecordSplitter {
  let start: Buffer | undefined = Buffer.alloc(0);
  let bom = false;
  let inQuotes = false;
  let afterCr = false;
  let partial: Buffer[] = [];
  let partialBytes = 0;

  const tooLong = () =>
    new InspectionError(
      'INVALID_CSV',
      `${name} is not valid CSV: a record is longer than ${formatBytes(maxRecordBytes)}; a quote that is never closed is the usual cause.`,
      { csvCode: 'CSV_MAX_RECORD_SIZE' },
    );

  const scan = (data: Buffer): Buffer[] => {
    const records: Buffer[] = [];
    let recordStart = 0;
    const cut = (end: number) => {
      const piece = data.subarray(recordStart, end);
      const record = partial.length === 0 ? piece : Buffer.concat([...partial, piece]);
      partial = [];
      partialBytes = 0;
      recordStart = end;
      if (record.length > maxRecordBytes) throw tooLong();
      if (!isBlank(record)) records.push(record);
    };
    for (let i = 0; i < data.length; i += 1) {
      const byte = data[i];
      if (afterCr) {
        afterCr = false;
        if (byte === LF) {
          cut(i + 1);
          continue;
        }
        cut(i);
      }
      if (byte === QUOTE) inQuotes = !inQuotes;
      else if (!inQuotes && byte === LF) cut(i + 1);
      else if (!inQuotes && byte === CR) afterCr = true;
    }
    if (recordStart < data.length) {
      partial.push(data.subarray(recordStart));
      partialBytes += data.length - recordStart;
      if (partialBytes > maxRecordBytes) throw tooLong();
    }
    return records;
  };

  /** Holds the first bytes back until it knows whether they are a BOM. */
  const skipBom = (chunk: Buffer, final: boolean): Buffer | undefined => {
    if (start === undefined) return chunk;
    const head: Buffer = Buffer.concat([start, chunk]);
    if (head.length < BOM.length && !final && BOM.subarray(0, head.length).equals(head)) {
      start = head;
      return undefined;
    }
    start = undefined;
    bom = head.subarray(0, BOM.length).equals(BOM);
    return bom ? head.subarray(BOM.length) : head;
  };

  return {
    push(chunk) {
      const data = skipBom(chunk, false);
      return data === undefined ? [] : scan(data);
    },
    end() {
      const records = scan(skipBom(Buffer.alloc(0), true) ?? Buffer.alloc(0));
      const last = partial.length === 0 ? undefined : Buffer.concat(partial);
      partial = [];
      partialBytes = 0;
      if (last !== undefined && !isBlank(last)) records.push(last);
      return records;
    },
    get bom() {
      return bom;
    },
  };
}

function isBlank(record: Buffer): boolean {
  return record.every((byte) => byte === CR || byte === LF);
}
