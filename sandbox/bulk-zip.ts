/**
 * The ZIP side of bulk write: is an upload a real ZIP (its central directory is read), what CSV
 * does it hold, and the result ZIP Zoho hands back. CSVs are read as streams and stop at the
 * first row over the limit.
 */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { type Entry, open as openZipFile, type ZipFile } from 'yauzl';
import { ZipFile as ZipWriter } from 'yazl';

/** Bulk write limits (zoho-api.md, Bulk write): each CSV ≤ 25,000 records and ≤ 200 columns. */
export const MAX_ROWS = 25_000;
export const MAX_COLUMNS = 200;
/**
 * ⚠ Not a Zoho limit: the sandbox holds a job's rows in memory, so a CSV that unzips to more than
 * this (a 25 MB ZIP can hold gigabytes) is refused rather than read.
 */
export const CSV_MAX_BYTES = 256 * 1024 * 1024;

export interface CsvFile {
  name: string;
  header: string[];
  rows: string[][];
  /** More than MAX_ROWS data rows (only MAX_ROWS + 1 were read). */
  tooManyRows: boolean;
}

const openZip = (path: string) =>
  new Promise<ZipFile>((resolve, reject) =>
    openZipFile(path, { lazyEntries: true, autoClose: false }, (error, zip) =>
      error ? reject(error) : resolve(zip),
    ),
  );

/** True when the file is a ZIP whose central directory can be read. */
export async function isZip(path: string): Promise<boolean> {
  try {
    (await openZip(path)).close();
    return true;
  } catch {
    return false;
  }
}

const isCsv = (entry: Entry) =>
  /\.csv$/i.test(entry.fileName) && !entry.fileName.endsWith('/') && !entry.fileName.startsWith('__MACOSX/');

export interface ZipCsv {
  csvNames: string[];
  /** The CSV asked for (or the first), parsed; `undefined` when there is none or it unzips to over CSV_MAX_BYTES. */
  csv: CsvFile | undefined;
  /** That CSV's unzipped size, from the central directory (yauzl checks it while reading). */
  csvBytes: number;
}

/** The CSV entries of a ZIP: their names, and the one named (or the first) parsed unless it is too big to hold. */
export async function readCsvFromZip(path: string, name?: string): Promise<ZipCsv> {
  const zip = await openZip(path);
  try {
    const entries: Entry[] = [];
    await new Promise<void>((resolve, reject) => {
      zip.on('entry', (entry: Entry) => {
        if (isCsv(entry)) entries.push(entry);
        zip.readEntry();
      });
      zip.on('end', resolve);
      zip.on('error', reject);
      zip.readEntry();
    });
    const csvNames = entries.map((e) => e.fileName);
    const first = name === undefined ? entries[0] : entries.find((e) => e.fileName === name);
    if (!first) return { csvNames, csv: undefined, csvBytes: 0 };
    if (first.uncompressedSize > CSV_MAX_BYTES) {
      return { csvNames, csv: undefined, csvBytes: first.uncompressedSize };
    }
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(first, (error, s) => (error ? reject(error) : resolve(s))),
    );
    return { csvNames, csv: await readCsv(first.fileName, stream), csvBytes: first.uncompressedSize };
  } finally {
    zip.close();
  }
}

/** Zoho detects the delimiter (comma, semicolon, colon or pipe) from the header line (Bulk write limitations). */
function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>([
    [',', 0],
    [';', 0],
    [':', 0],
    ['|', 0],
  ]);
  let quoted = false;
  for (const char of headerLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
  }
  let best = ',';
  for (const [delimiter, count] of counts) if (count > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}

async function readCsv(name: string, stream: Readable): Promise<CsvFile> {
  const iterator = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  // Enough of the start to see the header line, to pick the delimiter.
  const head: Buffer[] = [];
  let headSize = 0;
  while (headSize < 1024 * 1024) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    headSize += next.value.length;
    if (next.value.includes(0x0a)) break;
  }
  const start = Buffer.concat(head);
  const firstLine =
    start
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/, 1)[0] ?? '';
  async function* whole(): AsyncGenerator<Buffer> {
    yield start;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const parser = Readable.from(whole()).pipe(
    parse({
      delimiter: detectDelimiter(firstLine),
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }),
  );
  let header: string[] | undefined;
  const rows: string[][] = [];
  let tooManyRows = false;
  for await (const record of parser as AsyncIterable<string[]>) {
    if (!header) {
      header = record.map((h) => h.trim());
      continue;
    }
    if (rows.length === MAX_ROWS) {
      tooManyRows = true;
      break;
    }
    rows.push(record);
  }
  stream.destroy();
  return { name, header: header ?? [], rows, tooManyRows };
}

/** A ZIP holding the given files, as a buffer (result files are small). */
export async function zipBuffer(files: Array<{ name: string; data: string }>): Promise<Buffer> {
  const zip = new ZipWriter();
  for (const file of files) zip.addBuffer(Buffer.from(file.data, 'utf8'), file.name);
  zip.end();
  return Buffer.concat(await (zip.outputStream as Readable).toArray());
}
