/**
 * Checks a bulk-write ZIP before it is uploaded: a real ZIP of at most 25 MB holding exactly one
 * CSV at its top level (at most 200 columns, at least one row) and, optionally, a `job.json`
 * with job options.
 *
 * One CSV per ZIP: Zoho's bulk write takes one parent CSV per module (child CSVs in the same ZIP
 * are for subforms). This product pushes one module's records per ZIP and does not map subforms,
 * so a second CSV is refused (ZIP_MULTIPLE_CSV) rather than guessed at.
 * Rows over 25,000 are not refused here: the pipeline splits them (split.ts).
 */
import { countCsv } from './csv.ts';
import { formatBytes, InspectionError } from './errors.ts';
import {
  checkMappingsFitColumns,
  type JobOptions,
  mergeJobOptions,
  parseJobJson,
  parseJobOptionsFromMetadata,
  refuseJobJson,
  refuseMetadata,
} from './job-options.ts';
import type { RangeReader } from './range-reader.ts';
import { listZipEntries, openEntry, type ZipEntry } from './zip.ts';

export type { FieldMapping, JobOptions } from './job-options.ts';
export { parseJobOptionsFromMetadata } from './job-options.ts';

export interface BulkCsvEntry {
  entry: ZipEntry;
  header: string[];
  rows: number;
  columns: number;
}

export interface BulkZipFacts {
  /** Exactly one today (see the note on top). */
  csvEntries: BulkCsvEntry[];
  /** job.json merged with the metadata options; absent when neither sets anything. */
  jobOptions?: JobOptions;
  /** Entries neither the CSV nor job.json (folders, Finder/Explorer leftovers, other files). */
  ignoredEntries: string[];
}

export interface BulkZipOptions {
  /** The object's user metadata; its zoho-* job options override job.json key by key. */
  metadata?: Record<string, string> | undefined;
  /** Default 25 MB. */
  maxBytes?: number | undefined;
  /** Default 200. */
  maxColumns?: number | undefined;
  /** The most rows the CSV may hold (the import is split into parts of 25,000 later). Default none. */
  maxRows?: number | undefined;
  /** The most bytes the CSV may inflate to, from its declared size (inflation past it is refused while reading). */
  maxInflatedBytes?: number | undefined;
  /** The bulk operation: an `update` needs a `find_by` or an `id` column. */
  operation?: 'insert' | 'update' | 'upsert' | undefined;
}

const JOB_JSON = 'job.json';
const MAX_JOB_JSON_BYTES = 64 * 1024;

/** What macOS Finder and Windows Explorer add to a ZIP, never meant as data. */
function isSystemLeftover(name: string): boolean {
  const base = name.slice(name.lastIndexOf('/') + 1);
  return (
    name.startsWith('__MACOSX/') ||
    base.startsWith('._') ||
    base === '.DS_Store' ||
    base === 'Thumbs.db' ||
    base === 'desktop.ini'
  );
}

export async function inspectBulkZip(
  reader: RangeReader,
  options: BulkZipOptions = {},
): Promise<BulkZipFacts> {
  const entries = await listZipEntries(reader, { maxBytes: options.maxBytes });
  const files = entries.filter((entry) => !entry.isDirectory && !isSystemLeftover(entry.name));
  const isTopLevel = (entry: ZipEntry) => !entry.name.includes('/');
  const isCsv = (entry: ZipEntry) => /\.csv$/i.test(entry.name);
  const csvs = files.filter((entry) => isCsv(entry) && isTopLevel(entry));

  if (csvs.length === 0) {
    const nested = files.filter(isCsv).map((entry) => `"${entry.name}"`);
    throw new InspectionError(
      'ZIP_NO_CSV',
      nested.length === 0
        ? 'The ZIP holds no .csv file; put the CSV of records at the top level of the ZIP.'
        : `The ZIP holds no .csv file at its top level (found ${nested.join(', ')} inside a folder); zip the CSV itself, not its folder.`,
      { nested: files.filter(isCsv).map((entry) => entry.name) },
    );
  }
  if (csvs.length > 1) {
    throw new InspectionError(
      'ZIP_MULTIPLE_CSV',
      `The ZIP holds ${csvs.length} CSV files (${csvs.map((entry) => `"${entry.name}"`).join(', ')}); put one CSV per ZIP, one ZIP per module.`,
      { csvs: csvs.map((entry) => entry.name) },
    );
  }
  const [csv] = csvs as [ZipEntry];

  const jobEntry = files.find((entry) => isTopLevel(entry) && entry.name.toLowerCase() === JOB_JSON);
  const fromZip = jobEntry === undefined ? {} : await readJobJson(reader, jobEntry);
  const fromMetadata = parseJobOptionsFromMetadata(options.metadata ?? {});
  const jobOptions = mergeJobOptions(fromZip, fromMetadata);

  if (options.maxInflatedBytes !== undefined && csv.uncompressedSize > options.maxInflatedBytes) {
    throw new InspectionError(
      'BULK_TOO_LARGE_INFLATED',
      `"${csv.name}" unzips to ${formatBytes(csv.uncompressedSize)}, more than the ${formatBytes(options.maxInflatedBytes)} one import takes (BULK_MAX_INFLATED_BYTES): split it into several files.`,
      { uncompressedSize: csv.uncompressedSize, maxInflatedBytes: options.maxInflatedBytes },
    );
  }
  // openEntry refuses an entry that inflates past its declared size, so the check above holds while inflating.
  const facts = await countCsv(await openEntry(reader, csv), {
    maxColumns: options.maxColumns,
    maxRows: options.maxRows,
    name: `"${csv.name}"`,
  });
  if (facts.rows === 0) {
    throw new InspectionError(
      'CSV_NO_ROWS',
      `"${csv.name}" has a header but no rows; there is nothing to write.`,
      {
        header: facts.header,
      },
    );
  }
  const mappingsFromMetadata = fromMetadata.field_mappings !== undefined;
  checkMappingsFitColumns(
    jobOptions,
    facts.columns,
    mappingsFromMetadata ? refuseMetadata : refuseJobJson,
    mappingsFromMetadata ? 'x-amz-meta-zoho-field-mappings' : 'field_mappings',
  );

  if (options.operation === 'update') checkUpdateFindsRecords(jobOptions, facts.header, csv.name);

  const used = new Set<ZipEntry>([csv, ...(jobEntry === undefined ? [] : [jobEntry])]);
  return {
    csvEntries: [{ entry: csv, ...facts }],
    ...(Object.keys(jobOptions).length === 0 ? {} : { jobOptions }),
    ignoredEntries: entries.filter((entry) => !used.has(entry)).map((entry) => entry.name),
  };
}

async function readJobJson(reader: RangeReader, entry: ZipEntry): Promise<JobOptions> {
  if (entry.uncompressedSize > MAX_JOB_JSON_BYTES) {
    throw refuseJobJson(
      `it is ${formatBytes(entry.uncompressedSize)}, more than the ${formatBytes(MAX_JOB_JSON_BYTES)} job options ever need`,
    );
  }
  const chunks: Buffer[] = await (await openEntry(reader, entry)).toArray();
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let decoded: string;
  try {
    decoded = text.decode(Buffer.concat(chunks));
  } catch {
    throw refuseJobJson('it is not UTF-8 text');
  }
  return parseJobJson(decoded);
}

/** Zoho refuses an update that names no way to find the records: `find_by`, or an `id` column. */
function checkUpdateFindsRecords(options: JobOptions, header: string[], csvName: string): void {
  if (options.find_by !== undefined) return;
  const mapsId = options.field_mappings
    ? options.field_mappings.some((m) => m.api_name === 'id')
    : header.some((column) => column.trim() === 'id');
  if (mapsId) return;
  throw new InspectionError(
    'BULK_UPDATE_NEEDS_FIND_BY',
    `An update must say how to find each record: set "find_by" in job.json (e.g. "Email") or the x-amz-meta-zoho-find-by metadata, or add an "id" column to "${csvName}".`,
  );
}
