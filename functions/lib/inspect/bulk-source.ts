/**
 * A bulk write file as a user has it: a ZIP (one CSV, or a parent-child family, and job.json), or
 * a bare CSV, which the pipeline zips for Zoho itself (split.ts cuts every CSV into ZIP parts of
 * at most 25,000 rows, each at most 25 MB: Zoho's limits apply to the ZIPs it receives). Either
 * way the import sees the same thing: CSVs to open by name, the job options, a job.json to give
 * back with the failed rows. Anything else under a bulk-write route is refused (NOT_A_ZIP).
 */
import { Readable } from 'node:stream';
import {
  type BulkZipOptions,
  findJobJson,
  inspectBulkCsv,
  inspectBulkZip,
  parseJobOptionsFromMetadata,
  readZipJobOptions,
} from './bulk.ts';
import type { CsvFacts } from './csv.ts';
import { InspectionError } from './errors.ts';
import type { JobOptions } from './job-options.ts';
import type { RangeReader } from './range-reader.ts';
import { listZipEntries, openEntry, type ZipEntry } from './zip.ts';

export type BulkFileType = 'zip' | 'csv';

/** `.zip` or `.csv`, in any case; anything else is refused with what a bulk write takes. */
export function bulkFileType(fileName: string): BulkFileType {
  if (/\.zip$/i.test(fileName)) return 'zip';
  if (/\.csv$/i.test(fileName)) return 'csv';
  throw new InspectionError(
    'NOT_A_ZIP',
    `"${fileName}" is neither a .zip nor a .csv: a bulk write takes a ZIP holding one CSV (and, optionally, job.json) or a bare .csv file, which is zipped for Zoho here. Rename or convert the file and drop it again.`,
    { fileName },
  );
}

/** The name a bare CSV goes to Zoho under, inside the ZIP made of it: its own, with a lower-case `.csv`. */
export function bareCsvName(fileName: string): string {
  return fileName.replace(/\.csv$/i, '.csv');
}

/** A bulk file opened for reading, nothing counted. */
export interface BulkSource {
  type: BulkFileType;
  /** The CSVs it holds at its top level (a bare CSV: itself). */
  csvNames: string[];
  /** The ZIP's job.json merged with the metadata options, or the metadata's alone for a bare CSV. */
  jobOptions: JobOptions;
  /** Streams one of `csvNames`. */
  open(csvName: string): Promise<Readable>;
  /** The job options as a job.json to put beside failed rows: the ZIP's own, or the metadata's; none when there are none. */
  jobJson(): Promise<Readable | undefined>;
}

export interface BulkCsv extends CsvFacts {
  name: string;
}

/** A bulk file checked whole: its CSVs counted, the parent first, then the children job.json names. */
export interface InspectedBulkSource extends BulkSource {
  csvs: BulkCsv[];
}

/** Checks a bulk file before any Zoho call: a ZIP as inspectBulkZip does, a bare CSV with the same checks. */
export async function inspectBulkSource(
  reader: RangeReader,
  fileName: string,
  options: BulkZipOptions = {},
): Promise<InspectedBulkSource> {
  if (bulkFileType(fileName) === 'csv') {
    const name = bareCsvName(fileName);
    const { facts, jobOptions } = await inspectBulkCsv(reader, name, options);
    return { ...bareCsvSource(reader, name, jobOptions), csvs: [{ name, ...facts }] };
  }
  const zip = await inspectBulkZip(reader, options);
  const entries = [...zip.csvEntries.map((csv) => csv.entry), ...(zip.jobEntry ? [zip.jobEntry] : [])];
  const source = zipSource(reader, entries, zip.jobOptions ?? {});
  return { ...source, csvs: zip.csvEntries.map(({ entry, ...facts }) => ({ name: entry.name, ...facts })) };
}

/** Opens a bulk file already checked (to read its rows again for the results), nothing counted. */
export async function openBulkSource(
  reader: RangeReader,
  fileName: string,
  metadata: Record<string, string> = {},
): Promise<BulkSource> {
  if (bulkFileType(fileName) === 'csv') {
    return bareCsvSource(reader, bareCsvName(fileName), parseJobOptionsFromMetadata(metadata));
  }
  const entries = await listZipEntries(reader);
  return zipSource(reader, entries, await readZipJobOptions(reader, entries, metadata));
}

function bareCsvSource(reader: RangeReader, name: string, jobOptions: JobOptions): BulkSource {
  return {
    type: 'csv',
    csvNames: [name],
    jobOptions,
    open: async (csvName) => {
      if (csvName !== name) throw new Error(`The bulk file is the CSV "${name}", not "${csvName}"`);
      return reader.stream();
    },
    jobJson: async () =>
      Object.keys(jobOptions).length === 0
        ? undefined
        : Readable.from([Buffer.from(JSON.stringify(jobOptions))]),
  };
}

function zipSource(reader: RangeReader, entries: ZipEntry[], jobOptions: JobOptions): BulkSource {
  const csvs = entries.filter((e) => !e.isDirectory && /\.csv$/i.test(e.name));
  const jobEntry = findJobJson(entries);
  return {
    type: 'zip',
    csvNames: csvs.map((e) => e.name),
    jobOptions,
    open: async (csvName) => {
      const entry = csvs.find((e) => e.name === csvName);
      if (!entry) throw new Error(`The ZIP holds no "${csvName}"`);
      return openEntry(reader, entry);
    },
    jobJson: async () => (jobEntry ? openEntry(reader, jobEntry) : undefined),
  };
}
