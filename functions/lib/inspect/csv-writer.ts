/** CSV rows written to a file as they come (CRLF line endings), optionally gzipped, waiting when the file does. */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { stringify } from 'csv-stringify';

export interface CsvFileWriter {
  write(row: string[]): Promise<void>;
  end(): Promise<void>;
}

export function csvFileWriter(
  path: string,
  header: string[],
  options: { gzip?: boolean } = {},
): CsvFileWriter {
  const out = stringify({ record_delimiter: '\r\n' });
  const stages: Writable[] = options.gzip
    ? [createGzip({ level: 1 }), createWriteStream(path)]
    : [createWriteStream(path)];
  const done = pipeline(out, ...(stages as [Writable]));
  done.catch(() => {}); // observed by write() and end()
  out.write(header);
  return {
    async write(row) {
      if (!out.write(row)) await Promise.race([once(out, 'drain'), done]);
    },
    async end() {
      out.end();
      await done;
    },
  };
}
