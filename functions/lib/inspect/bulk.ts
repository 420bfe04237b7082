/**
 * Checks a bulk-write ZIP before anything is uploaded: a real ZIP of at most 25 MB holding one
 * CSV at its top level (at most 200 columns, at least one row, every column named) and,
 * optionally, a `job.json` with job options; within the import's bounds (rows, inflated bytes).
 *
 * One CSV per ZIP, except a parent-child import (seed 003): job.json's `children` names the
 * child CSVs (subform or linking module) riding with the parent's, each with its field mappings.
 * Any other second CSV is refused (ZIP_MULTIPLE_CSV) rather than guessed at.
 * Rows over 25,000 are not refused here: the pipeline splits them (split.ts; a parent-child
 * import by split-family.ts, each child row with its parent).
 */
import type { Readable } from 'node:stream';
import { type CsvFacts, countCsv } from './csv.ts';
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

export type { ChildResource, JobOptions } from './job-options.ts';
export { parseJobOptionsFromMetadata } from './job-options.ts';

export interface BulkCsvEntry {
  entry: ZipEntry;
  header: string[];
  rows: number;
  columns: number;
}

export interface BulkZipFacts {
  /** The parent CSV first, then the children job.json names, in its order. */
  csvEntries: BulkCsvEntry[];
  /** job.json merged with the metadata options; absent when neither sets anything. */
  jobOptions?: JobOptions;
  /** The job.json entry, when the ZIP has one. */
  jobEntry?: ZipEntry;
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
  const csvs = files.filter((entry) => isCsv(entry) && isTopLevel(entry));
  if (csvs.length === 0) throw noCsv(files);

  const jobEntry = findJobJson(files);
  const fromZip = jobEntry === undefined ? {} : await readJobJson(reader, jobEntry);
  const fromMetadata = parseJobOptionsFromMetadata(options.metadata ?? {});
  const jobOptions = mergeJobOptions(fromZip, fromMetadata);
  const childEntries = findChildren(jobOptions, csvs);
  const parents = csvs.filter((entry) => !childEntries.includes(entry));
  if (parents.length > 1) {
    throw new InspectionError(
      'ZIP_MULTIPLE_CSV',
      `The ZIP holds ${parents.length} CSV files (${parents.map((entry) => `"${entry.name}"`).join(', ')}); put one CSV per ZIP, one ZIP per module, or name the child CSVs of a parent-child import in job.json "children".`,
      { csvs: parents.map((entry) => entry.name) },
    );
  }
  const [csv] = parents as [ZipEntry];

  const facts = await checkCsv(entryToCheck(reader, csv), options);
  const mappingsFromMetadata = fromMetadata.field_mappings !== undefined;
  checkMappingsFitColumns(
    jobOptions,
    facts.columns,
    mappingsFromMetadata ? refuseMetadata : refuseJobJson,
    mappingsFromMetadata ? 'x-amz-meta-zoho-field-mappings' : 'field_mappings',
  );
  if (options.operation === 'update') checkUpdateFindsRecords(jobOptions, facts.header, csv.name);
  const children = await checkChildren(reader, jobOptions, childEntries, facts, options);

  const used = new Set<ZipEntry>([csv, ...childEntries, ...(jobEntry === undefined ? [] : [jobEntry])]);
  return {
    csvEntries: [{ entry: csv, ...facts }, ...children],
    ...(Object.keys(jobOptions).length === 0 ? {} : { jobOptions }),
    ...(jobEntry === undefined ? {} : { jobEntry }),
    ignoredEntries: entries.filter((entry) => !used.has(entry)).map((entry) => entry.name),
  };
}

const isTopLevel = (entry: ZipEntry) => !entry.name.includes('/');

/** The ZIP's job.json, at its top level. */
export function findJobJson(entries: ZipEntry[]): ZipEntry | undefined {
  return entries.find((e) => !e.isDirectory && isTopLevel(e) && e.name.toLowerCase() === JOB_JSON);
}

/** job.json merged with the metadata options, as inspectBulkZip reads them, nothing counted. */
export async function readZipJobOptions(
  reader: RangeReader,
  entries: ZipEntry[],
  metadata: Record<string, string> = {},
): Promise<JobOptions> {
  const jobEntry = findJobJson(entries);
  const fromZip = jobEntry === undefined ? {} : await readJobJson(reader, jobEntry);
  return mergeJobOptions(fromZip, parseJobOptionsFromMetadata(metadata));
}
const isCsv = (entry: ZipEntry) => /\.csv$/i.test(entry.name);

function noCsv(files: ZipEntry[]): InspectionError {
  const nested = files.filter(isCsv).map((entry) => `"${entry.name}"`);
  return new InspectionError(
    'ZIP_NO_CSV',
    nested.length === 0
      ? 'The ZIP holds no .csv file; put the CSV of records at the top level of the ZIP.'
      : `The ZIP holds no .csv file at its top level (found ${nested.join(', ')} inside a folder); zip the CSV itself, not its folder.`,
    { nested: files.filter(isCsv).map((entry) => entry.name) },
  );
}

/** A CSV to count: a ZIP entry (inflated while read) or a bare CSV object. */
interface CsvToCheck {
  name: string;
  /** Its bytes once inflated (a ZIP entry's declared size, a bare CSV's own). */
  inflatedSize: number;
  /** How the size reads in a message: "unzips to" for a ZIP entry, "is" for a bare CSV. */
  sizeVerb: string;
  open(): Promise<Readable>;
}

const entryToCheck = (reader: RangeReader, entry: ZipEntry): CsvToCheck => ({
  name: entry.name,
  inflatedSize: entry.uncompressedSize,
  sizeVerb: 'unzips to',
  open: () => openEntry(reader, entry),
});

/** One CSV within the bounds, counted while it inflates; at least one row. */
async function checkCsv(csv: CsvToCheck, options: BulkZipOptions) {
  if (options.maxInflatedBytes !== undefined && csv.inflatedSize > options.maxInflatedBytes) {
    throw new InspectionError(
      'BULK_TOO_LARGE_INFLATED',
      `"${csv.name}" ${csv.sizeVerb} ${formatBytes(csv.inflatedSize)}, more than the ${formatBytes(options.maxInflatedBytes)} one import takes (BULK_MAX_INFLATED_BYTES): split it into several files.`,
      { uncompressedSize: csv.inflatedSize, maxInflatedBytes: options.maxInflatedBytes },
    );
  }
  // openEntry refuses an entry that inflates past its declared size, so the check above holds while inflating.
  const facts = await countCsv(await csv.open(), {
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
  return facts;
}

/**
 * A bare CSV dropped as it is (the pipeline zips it for Zoho): the checks of a ZIP's CSV, its
 * own size standing for the inflated one; options come from the object's metadata alone.
 */
export async function inspectBulkCsv(
  reader: RangeReader,
  name: string,
  options: BulkZipOptions = {},
): Promise<{ facts: CsvFacts; jobOptions: JobOptions }> {
  const jobOptions = parseJobOptionsFromMetadata(options.metadata ?? {});
  const csv = { name, inflatedSize: reader.size, sizeVerb: 'is', open: () => reader.stream() };
  const facts = await checkCsv(csv, options);
  checkMappingsFitColumns(jobOptions, facts.columns, refuseMetadata, 'x-amz-meta-zoho-field-mappings');
  if (options.operation === 'update') checkUpdateFindsRecords(jobOptions, facts.header, name);
  return { facts, jobOptions };
}

/** The entries job.json names as children, each at the top of the ZIP. */
function findChildren(options: JobOptions, csvs: ZipEntry[]): ZipEntry[] {
  return (options.children ?? []).map((child, position) => {
    const entry = csvs.find((e) => e.name === child.file);
    if (!entry)
      throw refuseJobJson(`children[${position}].file "${child.file}" is not a CSV at the top of the ZIP`);
    return entry;
  });
}

/**
 * A parent-child import's children: each checked like the parent, each mapping inside its CSV, the
 * link inside the parent's columns. Past 25,000 rows the pipeline cuts the family into jobs that
 * each carry their parents' children (split-family.ts).
 */
async function checkChildren(
  reader: RangeReader,
  options: JobOptions,
  entries: ZipEntry[],
  parent: { rows: number; columns: number },
  limits: BulkZipOptions,
): Promise<BulkCsvEntry[]> {
  const children = options.children ?? [];
  if (children.length === 0) return [];
  const facts: BulkCsvEntry[] = [];
  for (const [position, child] of children.entries()) {
    const entry = entries[position] as ZipEntry;
    const counted = await checkCsv(entryToCheck(reader, entry), limits);
    const where = `children[${position}].field_mappings`;
    checkMappingsFitColumns({ field_mappings: child.field_mappings }, counted.columns, refuseJobJson, where);
    for (const mapping of child.field_mappings) {
      if (mapping.parent_column_index !== undefined && mapping.parent_column_index >= parent.columns) {
        throw refuseJobJson(
          `${where} links "${mapping.api_name}" to parent column ${mapping.parent_column_index}, but the parent CSV has ${parent.columns} columns`,
        );
      }
    }
    facts.push({ entry, ...counted });
  }
  return facts;
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
