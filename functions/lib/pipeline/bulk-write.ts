/**
 * Bulk write, all the way: check the ZIP, split its CSV into parts of at most 25,000 rows (Zoho's
 * limit per CSV), upload each part and create one job per part, then follow the jobs with delayed
 * messages on the function's own queue (no Lambda waits on Zoho), and finally write the rows'
 * results next to the source and the counts on it.
 *
 * A manifest under the results prefix is the ledger of the whole import: a retry resumes from it,
 * and a job whose creation may have happened (connection lost) is never created a second time.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { inspectBulkZip } from '#lib/inspect/bulk.ts';
import { bufferRangeReader, s3RangeReader } from '#lib/inspect/range-reader.ts';
import { splitCsvToZips } from '#lib/inspect/split.ts';
import { listZipEntries, openEntry } from '#lib/inspect/zip.ts';
import type { RouteMatch } from '#lib/routing/route.ts';
import { headObject, type StoredObject } from '#lib/s3/object.ts';
import { ZohoOutcomeUnknownError } from '#zoho/errors.ts';
import type { BulkJobCounts, BulkOperation } from '#zoho/types.ts';
import type { PipelineDeps } from './deps.ts';
import { type Outcome, PipelineError } from './outcome.ts';
import { record } from './process.ts';

type PartState = 'pending' | 'creating' | 'created' | 'finished';

interface ManifestPart {
  rows: number;
  state: PartState;
  fileId?: string;
  jobId?: string;
  jobStatus?: string;
  counts?: BulkJobCounts;
  downloadUrl?: string;
}

interface Manifest {
  /** The write this import is for (`writeId`): the same file dropped again is a new import. */
  source: { bucket: string; key: string; versionId?: string | undefined; eTag: string; write: string };
  module: string;
  operation: BulkOperation;
  startedAt: string;
  parts: ManifestPart[];
}

export interface FollowUpPayload {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  write: string;
}

export async function startBulkWrite(
  deps: PipelineDeps,
  push: { object: StoredObject; write: string; route: RouteMatch; signal: AbortSignal },
): Promise<Outcome> {
  const { object, write, route, signal } = push;
  if (!route.operation) throw new PipelineError('INVALID_KEY', 'A bulk write key must name its operation.');
  const reader = s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId);
  // job.json and object metadata merged (metadata wins key by key) and checked against the CSV's columns.
  const zip = await inspectBulkZip(reader, { metadata: object.metadata });
  const options = zip.jobOptions ?? {};
  const [csv] = zip.csvEntries;
  if (!csv) throw new PipelineError('ZIP_NO_CSV', 'The ZIP holds no CSV file.');

  const manifest = (await readManifest(deps, object, write)) ?? {
    source: { bucket: object.bucket, key: object.key, versionId: object.versionId, eTag: object.eTag, write },
    module: route.module,
    operation: route.operation,
    startedAt: deps.now().toISOString(),
    parts: [],
  };
  const unknown = manifest.parts.findIndex((p) => p.state === 'creating');
  if (unknown >= 0) {
    throw new PipelineError(
      'BULK_JOB_OUTCOME_UNKNOWN',
      `Creating the job for part ${unknown + 1} was cut off and it may exist in Zoho: check Zoho's bulk write jobs before dropping the file again.`,
    );
  }

  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-'));
  try {
    const parts = await splitCsvToZips(await openEntry(reader, csv.entry), {
      dir,
      entryName: csv.entry.name,
    });
    if (manifest.parts.length === 0) manifest.parts = parts.map((p) => ({ rows: p.rows, state: 'pending' }));
    deps.log.info('Bulk write: creating jobs', { parts: parts.length, rows: csv.rows });

    for (const [index, part] of parts.entries()) {
      const entry = manifest.parts[index];
      if (entry?.state !== 'pending') continue;
      const { fileId } = await deps.zoho.uploadBulkFile(
        {
          body: createReadStream(part.path),
          fileName: `${baseName(object.key)}-part${index + 1}.zip`,
          size: (await stat(part.path)).size,
          contentType: 'application/zip',
        },
        { signal },
      );
      entry.fileId = fileId;
      entry.state = 'creating';
      await writeManifest(deps, manifest);
      try {
        const { jobId } = await deps.zoho.createBulkWriteJob(
          {
            operation: manifest.operation,
            ...(options.ignore_empty === undefined ? {} : { ignoreEmpty: options.ignore_empty }),
            resources: [
              {
                module: manifest.module,
                fileId,
                ...(options.find_by ? { findBy: options.find_by } : {}),
                ...(options.field_mappings ? { fieldMappings: options.field_mappings } : {}),
              },
            ],
          },
          { signal },
        );
        entry.jobId = jobId;
        entry.state = 'created';
      } catch (error) {
        if (error instanceof ZohoOutcomeUnknownError) {
          throw new PipelineError(
            'BULK_JOB_OUTCOME_UNKNOWN',
            `The connection was lost while creating the job for part ${index + 1}; it may exist in Zoho: check before dropping the file again.`,
            { cause: error },
          );
        }
        // Zoho answered: the job was not made, so the part may be tried again.
        entry.state = 'pending';
        delete entry.fileId;
        throw error;
      } finally {
        await writeManifest(deps, manifest);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  await deps.followUp({ bucket: object.bucket, key: object.key, versionId: object.versionId, write });
  return {
    status: 'pushing',
    zohoId: jobIds(manifest),
    tags: { 'zoho-parts': String(manifest.parts.length) },
  };
}

/** One look at the jobs: finish the import when all are done, or look again later. */
export async function followBulkWrite(deps: PipelineDeps, payload: FollowUpPayload, signal: AbortSignal) {
  const object = await headObject(deps.s3, payload);
  const manifest = object && (await readManifest(deps, object, payload.write));
  if (!object || !manifest) {
    deps.log.warn('Bulk write follow-up for an object or manifest that is gone; dropping it', { ...payload });
    return;
  }
  for (const part of manifest.parts) {
    if (part.state !== 'created' || !part.jobId) continue;
    const job = await deps.zoho.getBulkWriteJob(part.jobId, { signal });
    if (job.status !== 'COMPLETED' && job.status !== 'FAILED') continue;
    part.state = 'finished';
    part.jobStatus = job.status;
    part.counts = sumCounts(job.resources.map((r) => r.counts));
    if (job.downloadUrl) part.downloadUrl = job.downloadUrl;
  }
  await writeManifest(deps, manifest);

  if (manifest.parts.some((p) => p.state !== 'finished')) {
    await deps.followUp(payload);
    return;
  }
  const results = await collectResults(deps, manifest, signal);
  const failedJobs = manifest.parts.filter((p) => p.jobStatus === 'FAILED').length;
  const counts = sumCounts(manifest.parts.map((p) => p.counts ?? emptyCounts()));
  await record(deps, object, {
    status: failedJobs > 0 ? 'failed' : 'done',
    zohoId: jobIds(manifest),
    ...(failedJobs > 0
      ? {
          code: 'BULK_JOB_FAILED',
          reason: `${failedJobs} of ${manifest.parts.length} bulk write jobs failed in Zoho.`,
        }
      : {}),
    tags: {
      'zoho-added': String(counts.added),
      'zoho-updated': String(counts.updated),
      'zoho-skipped': String(counts.skipped),
      'zoho-failed': String(results.failedRows),
      'zoho-results': results.key,
    },
  });
}

/** Joins the parts' result CSVs (STATUS, RECORD_ID, ERRORS per row) into one object under the results prefix. */
async function collectResults(deps: PipelineDeps, manifest: Manifest, signal: AbortSignal) {
  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-results-'));
  const path = join(dir, 'results.csv');
  const out = createWriteStream(path);
  let header: string[] | undefined;
  let failedRows = 0;
  try {
    for (const part of manifest.parts) {
      if (!part.downloadUrl) continue;
      const zip = await bufferStream(await deps.zoho.downloadBulkWriteResult(part.downloadUrl, { signal }));
      const rows = (await firstEntry(zip)).pipe(parse({ bom: true, relax_column_count: true }));
      for await (const row of rows as AsyncIterable<string[]>) {
        if (!header) {
          header = row;
          out.write(stringify([row]));
          continue;
        }
        if (row.join(',') === header.join(',')) continue;
        const errors = row[header.indexOf('ERRORS')];
        if (errors) failedRows++;
        out.write(stringify([row]));
      }
    }
    out.end();
    await finished(out);
    const key = resultsKey(deps, manifest.source.key, '.results.csv');
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: manifest.source.bucket,
        Key: key,
        Body: createReadStream(path),
        ContentLength: (await stat(path)).size,
        ContentType: 'text/csv; charset=utf-8',
      }),
    );
    return { key, failedRows };
  } finally {
    out.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

async function readManifest(
  deps: PipelineDeps,
  object: StoredObject,
  write: string,
): Promise<Manifest | undefined> {
  try {
    const answer = await deps.s3.send(
      new GetObjectCommand({ Bucket: object.bucket, Key: resultsKey(deps, object.key, '.job.json') }),
    );
    const manifest = JSON.parse((await answer.Body?.transformToString()) ?? '') as Manifest;
    return manifest.source.write === write ? manifest : undefined;
  } catch (error) {
    if (error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

async function writeManifest(deps: PipelineDeps, manifest: Manifest) {
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: manifest.source.bucket,
      Key: resultsKey(deps, manifest.source.key, '.job.json'),
      Body: JSON.stringify(manifest, null, 2),
      ContentType: 'application/json',
    }),
  );
}

/** `bulk-write/Leads/insert/a.zip` → `bulk-write-results/bulk-write/Leads/insert/a.zip.results.csv`. */
function resultsKey(deps: PipelineDeps, sourceKey: string, suffix: string): string {
  return `${deps.config.resultsPrefix}${sourceKey}${suffix}`;
}

function jobIds(manifest: Manifest): string {
  return manifest.parts.flatMap((p) => (p.jobId ? [p.jobId] : [])).join(' ');
}

function sumCounts(all: BulkJobCounts[]): BulkJobCounts {
  return all.reduce(
    (sum, c) => ({
      added: sum.added + c.added,
      updated: sum.updated + c.updated,
      skipped: sum.skipped + c.skipped,
      total: sum.total + c.total,
    }),
    emptyCounts(),
  );
}

function emptyCounts(): BulkJobCounts {
  return { added: 0, updated: 0, skipped: 0, total: 0 };
}

function baseName(key: string): string {
  return (key.split('/').pop() ?? 'bulk').replace(/\.zip$/i, '');
}

async function bufferStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The result ZIP holds one CSV; it is small (one row of status per input row), so it is held. */
async function firstEntry(zip: Buffer): Promise<NodeJS.ReadableStream> {
  const reader = bufferRangeReader(zip);
  const [entry] = (await listZipEntries(reader, { maxBytes: zip.length })).filter((e) => !e.isDirectory);
  if (!entry) throw new PipelineError('ZOHO_RESULT_EMPTY', 'The bulk write result ZIP is empty.');
  return openEntry(reader, entry);
}
