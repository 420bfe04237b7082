/**
 * Results people can act on. Zoho's result file keeps only the first three mapped columns, so
 * each input row is joined back, in order, to its STATUS, RECORD_ID and ERRORS:
 * `results.csv` holds every input row with those three columns, and `failed-rows.zip` holds
 * exactly the rows that did not land, with the import's own job.json, ready to fix and drop again.
 * Everything streams: the source CSV from S3, each result ZIP through a file in /tmp.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { ZipFile } from 'yazl';
import type { Config } from '#lib/config.ts';
import { type BulkSource, openBulkSource } from '#lib/inspect/bulk-source.ts';
import { csvParseOptions, DEFAULT_MAX_RECORD_BYTES } from '#lib/inspect/csv.ts';
import { s3RangeReader } from '#lib/inspect/range-reader.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import { createPacer, type Pacer } from '#zoho/pacing.ts';
import type { ZohoClient } from '#zoho/types.ts';
import { PipelineError } from '../outcome.ts';
import { collectChildResults } from './family-results.ts';
import { type ImportPart, type ImportResults, type ImportState, sumCounts } from './machine.ts';
import { partsAtOnce } from './parts-at-once.ts';
import {
  notProcessed,
  partResults,
  put,
  type ResultFilesDeps,
  resultsKey,
  resultsWriter,
} from './result-files.ts';

/** What collecting an import's results takes: its result ZIPs from Zoho, its files to S3. */
export interface ResultsDeps extends ResultFilesDeps {
  zoho: Pick<ZohoClient, 'downloadBulkWriteResult'>;
  config: Pick<Config, 'resultsPrefix' | 'zohoMaxInFlight'>;
}

export async function collectResults(
  deps: ResultsDeps,
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
    const files = { all: join(dir, 'results.csv'), failed: join(dir, 'failed.csv') };
    const written = resultsWriter(files, header ?? []);
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
        await written.add(row, (await results.next()).value ?? notProcessed(part));
      }
    }
    await written.end();
    const { rows: total, failedRows } = written.counts;
    const key = resultsKey(deps, object.key, '.results.csv');
    await put(deps, object.bucket, key, files.all, 'text/csv; charset=utf-8');
    const resultZips = await Promise.all(downloads);
    const children = await collectChildResults({ deps, state, object, source, dir, resultZips });
    const failedFiles = [{ name: basename(state.csv), path: files.failed }, ...children.failedFiles];
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
function openSource(deps: ResultsDeps, object: StoredObject): Promise<BulkSource> {
  const reader = s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId);
  return openBulkSource(reader, object.key.split('/').pop() ?? '', object.metadata);
}

/** A part's result ZIP, streamed to a file; none for a job without a result (FAILED). */
async function download(deps: ResultsDeps, part: ImportPart, dir: string, turns: Pacer, signal: AbortSignal) {
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

/** The failed rows of each CSV (a parent-child import: the parent's and each child's) and the job.json, in one ZIP. */
async function putFailedRows(
  deps: ResultsDeps,
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
