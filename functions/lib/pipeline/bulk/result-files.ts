/**
 * The pieces of an import's results files, shared by the parent's (results.ts) and the children's
 * (family-results.ts): the columns joined to each input row and which rows count as failed (the
 * writer of both files), where a results file goes, a part's result rows read from its result ZIP,
 * and the upload to S3.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import type { Config } from '#lib/config.ts';
import { csvFileWriter } from '#lib/inspect/csv-writer.ts';
import { fileRangeReader } from '#lib/inspect/range-reader.ts';
import { listZipEntries, openEntry } from '#lib/inspect/zip.ts';
import { PipelineError } from '../outcome.ts';
import type { ImportPart } from './machine.ts';

/** What writing a results file takes: the bucket's client and the folder results go to. */
export interface ResultFilesDeps {
  s3: S3Client;
  config: Pick<Config, 'resultsPrefix'>;
}

const RESULT_COLUMNS = ['STATUS', 'RECORD_ID', 'ERRORS'];
const LANDED = new Set(['ADDED', 'UPDATED']);

/** A row that did not land: neither added nor updated, or with errors. */
const rowFailed = (result: string[]) => !LANDED.has(result[0] ?? '') || (result[2] ?? '') !== '';

/** `bulk-write/Leads/insert/a.zip` → `bulk-write-results/bulk-write/Leads/insert/a.zip.results.csv`. */
export const resultsKey = (deps: ResultFilesDeps, sourceKey: string, suffix: string) =>
  `${deps.config.resultsPrefix}${sourceKey}${suffix}`;

/** One CSV's two results files as they are written: every row with its result, and the rows that failed. */
export interface ResultsWriter {
  /** The rows added, and how many of them failed. */
  readonly counts: { rows: number; failedRows: number };
  add(row: string[], result: string[]): Promise<void>;
  end(): Promise<void>;
}

export function resultsWriter(paths: { all: string; failed: string }, header: string[]): ResultsWriter {
  const all = csvFileWriter(paths.all, [...header, ...RESULT_COLUMNS]);
  const failed = csvFileWriter(paths.failed, header);
  const counts = { rows: 0, failedRows: 0 };
  return {
    counts,
    async add(row, result) {
      counts.rows += 1;
      await all.write([...row, ...result]);
      if (rowFailed(result)) {
        counts.failedRows += 1;
        await failed.write(row);
      }
    },
    async end() {
      await Promise.all([all.end(), failed.end()]);
    },
  };
}

/**
 * A part's result rows for the CSV `csvName` (the kept columns dropped: the input row is joined
 * whole instead). One result CSV per resource, named after its CSV: the parent's falls back on
 * the only or first one; a child's has none when its CSV is missing from the result.
 */
export async function partResults(
  csvName: string,
  path: string | undefined,
  firstIfNone = true,
): Promise<AsyncIterator<string[]>> {
  if (!path) return (async function* () {})();
  const reader = fileRangeReader(path, (await stat(path)).size);
  const csvs = (await listZipEntries(reader)).filter((e) => !e.isDirectory && /\.csv$/i.test(e.name));
  // `-languages.csv` before `languages.csv`: a parent `contacts.csv` must not take a child `subcontacts.csv`'s.
  const entry =
    csvs.find(
      (e) => e.name === csvName || e.name.endsWith(`-${csvName}`) || e.name.endsWith(`/${csvName}`),
    ) ??
    csvs.find((e) => e.name.endsWith(csvName)) ??
    (firstIfNone ? csvs[0] : undefined);
  if (!entry && !firstIfNone) return (async function* () {})();
  if (!entry) throw new PipelineError('ZOHO_RESULT_EMPTY', `The result ZIP ${basename(path)} holds no CSV.`);
  const parsed = (await openEntry(reader, entry)).pipe(parse({ bom: true, relax_column_count: true }));
  return (async function* () {
    let columns: number[] | undefined;
    for await (const row of parsed as AsyncIterable<string[]>) {
      if (!columns) {
        columns = RESULT_COLUMNS.map((name) => row.indexOf(name));
        continue;
      }
      yield columns.map((index) => (index < 0 ? '' : (row[index] ?? '')));
    }
  })();
}

/** A row Zoho gave no result for: its job failed, or the result file ended early. */
export function notProcessed(part: ImportPart): string[] {
  return ['NOT_PROCESSED', '', part.jobStatus === 'FAILED' ? 'BULK_JOB_FAILED' : 'NO_RESULT_FROM_ZOHO'];
}

export async function put(
  deps: ResultFilesDeps,
  bucket: string,
  key: string,
  path: string,
  contentType: string,
) {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: createReadStream(path),
      ContentLength: (await stat(path)).size,
      ContentType: contentType,
    }),
  );
}
