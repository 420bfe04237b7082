/**
 * Results people can act on. Zoho's result file keeps only the first three mapped columns, so
 * each input row is joined back, in order, to its STATUS, RECORD_ID and ERRORS:
 * `results.csv` holds every input row with those three columns, and `failed-rows.zip` holds
 * exactly the rows that did not land, with the import's own job.json, ready to fix and drop again.
 * Everything streams: the source CSV from S3, each result ZIP through a file in /tmp.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { ZipFile } from 'yazl';
import { type BulkSource, openBulkSource } from '#lib/inspect/bulk-source.ts';
import { csvParseOptions, DEFAULT_MAX_RECORD_BYTES } from '#lib/inspect/csv.ts';
import { csvFileWriter } from '#lib/inspect/csv-writer.ts';
import { fileRangeReader, s3RangeReader } from '#lib/inspect/range-reader.ts';
import { listZipEntries, openEntry } from '#lib/inspect/zip.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import { createPacer, type Pacer } from '#zoho/pacing.ts';
import type { PipelineDeps } from '../deps.ts';
import { PipelineError } from '../outcome.ts';
import { collectChildResults } from './family-results.ts';
import { type ImportPart, type ImportResults, type ImportState, sumCounts } from './machine.ts';
import { partsAtOnce } from './parts-at-once.ts';

export const RESULT_COLUMNS = ['STATUS', 'RECORD_ID', 'ERRORS'];
const LANDED = new Set(['ADDED', 'UPDATED']);

/** A row that did not land: neither added nor updated, or with errors. */
export const rowFailed = (result: string[]) => !LANDED.has(result[0] ?? '') || (result[2] ?? '') !== '';

/** `bulk-write/Leads/insert/a.zip` → `bulk-write-results/bulk-write/Leads/insert/a.zip.results.csv`. */
export const resultsKey = (deps: PipelineDeps, sourceKey: string, suffix: string) =>
  `${deps.config.resultsPrefix}${sourceKey}${suffix}`;

export async function collectResults(
  deps: PipelineDeps,
  state: ImportState,
  object: StoredObject,
  signal: AbortSignal,
): Promise<ImportResults> {
  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-results-'));
  try {
    const source = await openSource(deps, object);
    if (!source.csvNames.includes(state.csv))
      throw new PipelineError('BULK_SOURCE_CHANGED', `The ZIP no longer holds "${state.csv}".`);
    const records = (await source.open(state.csv)).pipe(
      parse(csvParseOptions(DEFAULT_MAX_RECORD_BYTES)),
    ) as AsyncIterable<string[]>;
    const rows = records[Symbol.asyncIterator]();
    const header = (await rows.next()).value as string[] | undefined;
    const all = csvFileWriter(join(dir, 'results.csv'), [...(header ?? []), ...RESULT_COLUMNS]);
    const failed = csvFileWriter(join(dir, 'failed.csv'), header ?? []);
    let failedRows = 0;
    let total = 0;
    // The result ZIPs download side by side, started in part order, each through a file; rows join
    // in order. The client's pacer alone would let one import take its whole budget: a pacer of
    // their own keeps them to partsAtOnce.
    const turns = createPacer({ maxInFlight: partsAtOnce(deps.config.zohoMaxInFlight) });
    const downloads = state.parts.map((part) => download(deps, part, dir, turns, signal));
    for (const promise of downloads) promise.catch(() => {});
    for (const [index, part] of state.parts.entries()) {
      const results = await partResults(basename(state.csv), await downloads[index]);
      for (let i = 0; i < part.rows; i++) {
        const row = (await rows.next()).value as string[] | undefined;
        if (!row)
          throw new PipelineError('BULK_SOURCE_CHANGED', 'The source CSV has fewer rows than were sent.');
        const result = (await results.next()).value ?? notProcessed(part);
        total += 1;
        await all.write([...row, ...result]);
        if (rowFailed(result)) {
          failedRows += 1;
          await failed.write(row);
        }
      }
    }
    await Promise.all([all.end(), failed.end()]);
    const key = resultsKey(deps, object.key, '.results.csv');
    await put(deps, object.bucket, key, join(dir, 'results.csv'), 'text/csv; charset=utf-8');
    const resultZips = await Promise.all(downloads);
    const children = await collectChildResults({ deps, state, object, source, dir, resultZips });
    const failedFiles = [
      { name: basename(state.csv), path: join(dir, 'failed.csv') },
      ...children.failedFiles,
    ];
    const failedRowsKey =
      failedRows + children.failedRows > 0
        ? await putFailedRows(deps, object, source, failedFiles)
        : undefined;
    return {
      counts: sumCounts(state.parts.flatMap((p) => (p.counts ? [p.counts] : []))),
      rows: total + children.rows,
      failedRows: failedRows + children.failedRows,
      resultsKey: key,
      failedRowsKey,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The import's source object (a ZIP or a bare CSV), opened to read its rows again. */
function openSource(deps: PipelineDeps, object: StoredObject): Promise<BulkSource> {
  const reader = s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId);
  return openBulkSource(reader, object.key.split('/').pop() ?? '', object.metadata);
}

/** A part's result ZIP, streamed to a file; none for a job without a result (FAILED). */
async function download(
  deps: PipelineDeps,
  part: ImportPart,
  dir: string,
  turns: Pacer,
  signal: AbortSignal,
) {
  if (!part.downloadUrl) return undefined;
  const path = join(dir, `result-${part.jobId}.zip`);
  const release = await turns.acquire(signal);
  try {
    await pipeline(
      await deps.zoho.downloadBulkWriteResult(part.downloadUrl, { signal }),
      createWriteStream(path),
    );
  } finally {
    release();
  }
  return path;
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

/** The failed rows of each CSV (a parent-child import: the parent's and each child's) and the job.json, in one ZIP. */
async function putFailedRows(
  deps: PipelineDeps,
  object: StoredObject,
  source: BulkSource,
  failedCsvs: Array<{ name: string; path: string }>,
): Promise<string> {
  const zip = new ZipFile();
  for (const csv of failedCsvs) zip.addReadStream(createReadStream(csv.path), csv.name);
  const jobJson = await source.jobJson();
  if (jobJson) zip.addReadStream(jobJson, 'job.json');
  zip.end();
  const path = `${failedCsvs[0]?.path}.zip`;
  await pipeline(zip.outputStream as Readable, new PassThrough(), createWriteStream(path));
  const key = resultsKey(deps, object.key, '.failed-rows.zip');
  await put(deps, object.bucket, key, path, 'application/zip');
  return key;
}

export async function put(
  deps: PipelineDeps,
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
