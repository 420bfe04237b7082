/**
 * CSV rows written to a file as they come, optionally gzipped, waiting when the file does. RFC 4180:
 * a field holding a comma, a double quote, CR or LF is quoted, its quotes doubled; lines end in
 * CRLF. (Written here rather than with csv-stringify: its 12 KB would take the Lambda bundles past
 * their 1,000,000 bytes for these few lines.)
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface CsvFileWriter {
  write(row: string[]): Promise<void>;
  end(): Promise<void>;
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV line, CRLF included. */
export function csvLine(row: string[]): string {
  const fields = row.map((field) => (NEEDS_QUOTES.test(field) ? `"${field.replaceAll('"', '""')}"` : field));
  return `${fields.join(',')}\r\n`;
}

export function csvFileWriter(
  path: string,
  header: string[],
  options: { gzip?: boolean } = {},
): CsvFileWriter {
  const file = createWriteStream(path);
  const gzip = options.gzip ? createGzip({ level: 1 }) : undefined;
  const out: Writable = gzip ?? file;
  const done = gzip ? pipeline(gzip, file) : once(file, 'close');
  done.catch(() => {}); // observed by write() and end()
  const write = async (row: string[]) => {
    if (!out.write(csvLine(row))) await Promise.race([once(out, 'drain'), done]);
  };
  const started = write(header);
  return {
    async write(row) {
      await started;
      await write(row);
    },
    async end() {
      await started;
      out.end();
      await done;
    },
  };
}
