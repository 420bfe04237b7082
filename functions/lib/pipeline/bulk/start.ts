/**
 * The start of a bulk import, a thin adapter around the machine: find or make the import's
 * record (a replay of a failed or expired one starts a new attempt that resumes it, resume.ts),
 * then, under the ledger (which guards only this start), look again at the jobs an earlier
 * attempt made, check the ZIP, split its CSV into parts of at most 25,000 rows while uploading
 * the parts already cut (those a replay keeps are not sent), and once every part is uploaded and
 * every check passed, create the jobs side by side. The client's in-flight budget bounds the overlap.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '#lib/config.ts';
import type { JobOptions } from '#lib/inspect/bulk.ts';
import { type InspectedBulkSource, inspectBulkSource } from '#lib/inspect/bulk-source.ts';
import { placeJobOptions } from '#lib/inspect/job-options.ts';
import { s3RangeReader } from '#lib/inspect/range-reader.ts';
import { type CsvPart, splitCsvToZips } from '#lib/inspect/split.ts';
import { familyLinks, splitFamilyToZips } from '#lib/inspect/split-family.ts';
import type { BulkDestination } from '#lib/routing/route.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import { ZohoOutcomeUnknownError } from '#zoho/errors.ts';
import type { ZohoClient } from '#zoho/types.ts';
import { type Outcome, PipelineError } from '../outcome.ts';
import { type RetryDeps, withRetries } from '../push-file.ts';
import { advance, failureEvent, type ImportContext } from './advance.ts';
import type { FollowDeps } from './follow.ts';
import { type ImportPart, type ImportState, isKept, jobIds, next } from './machine.ts';
import { createPool, partsAtOnce } from './parts-at-once.ts';
import { lookAgain, replayedWrite } from './resume.ts';
import type { ImportStore } from './store.ts';

export interface StartRequest {
  object: StoredObject;
  write: string;
  /** The event came from `npm run replay`: a failed or expired import resumes. */
  replay: boolean;
  /** The event came from `npm run replay -- --force`: an ended import, a done one too, is sent again whole. */
  forced: boolean;
  destination: BulkDestination;
  signal: AbortSignal;
}

/** What starting an import takes, besides what following it does and a part upload's retries (RetryDeps). */
export type StartDeps = FollowDeps &
  RetryDeps & {
    /** Runs the start of one attempt at most once across the fleet (deps.ts). */
    once: (write: string, start: () => Promise<Outcome>) => Promise<Outcome>;
    zoho: Pick<ZohoClient, 'uploadBulkFile' | 'createBulkWriteJob'>;
    config: Pick<
      Config,
      'bulkMaxFollowSeconds' | 'bulkRowsPerPart' | 'bulkMaxRows' | 'bulkMaxInflatedBytes' | 'zohoMaxInFlight'
    >;
  };

export async function startBulkImport(
  deps: StartDeps,
  store: ImportStore,
  request: StartRequest,
): Promise<Outcome> {
  const { object, destination } = request;
  const now = deps.now().getTime();
  const maxFollowMs = deps.config.bulkMaxFollowSeconds * 1000;
  const source = { bucket: object.bucket, key: object.key, versionId: object.versionId, eTag: object.eTag };
  const replayed = request.replay || request.forced;
  const write = replayed ? await replayedWrite(store, source, request.write) : request.write;
  let state = await store.get(write);
  if (!state) {
    const fresh: ImportState = {
      write,
      attempt: 1,
      status: 'creating',
      source,
      module: destination.module,
      operation: destination.operation,
      csv: '',
      startedAt: now,
      deadline: now + maxFollowMs,
      parts: [],
      version: 1,
    };
    state = (await store.create(fresh)) ? fresh : await store.get(write);
  } else if (replayed) {
    const type = request.forced ? 'forced-replay' : 'replay';
    const reset = next(state, { type, at: now, maxFollowMs }).state;
    if (reset !== state) {
      state = await store.save(reset);
      if (!state) throw new Error(`The bulk import ${write} was reset by another delivery at the same time`);
      deps.log.info('Bulk import replayed', { attempt: state.attempt, forced: request.forced });
    }
  }
  if (!state) throw new Error(`The bulk import record of ${write} vanished`);
  if (state.status !== 'creating') {
    deps.log.info('Bulk import already started; this event changes nothing', { status: state.status });
    const again = state.status === 'done' ? ': only replay --force writes its rows again' : '';
    return {
      status: 'skipped',
      code: 'BULK_IMPORT_EXISTS',
      reason: `The import is ${state.status}${again}.`,
    };
  }
  const started = state;
  const ctx = { deps, store, object, source: async () => object, signal: request.signal };
  return deps.once(`${write}#${started.attempt}`, () => createJobs(ctx, started));
}

/** The start knows its object: the event's, just looked at. */
interface StartContext extends ImportContext {
  deps: StartDeps;
  object: StoredObject;
}

async function createJobs(ctx: StartContext, initial: ImportState): Promise<Outcome> {
  const run = createRun(ctx.store, initial);
  try {
    const rechecked = await lookAgain(ctx.deps, run.state, ctx.signal);
    if (rechecked) await run.update((state) => next(state, rechecked).state);
    const options = await uploadParts(ctx, run);
    // Every creation settles before a failure is told: none is left running behind it.
    const created = await Promise.allSettled(
      run.state.parts.map((_, index) => createJob(ctx, run, index, options)),
    );
    const failure = created.find((c) => c.status === 'rejected');
    if (failure) throw failure.reason;
    await advance(ctx, run.state, { type: 'jobs-created', parts: run.state.parts });
    return { status: 'pushing', zohoId: jobIds(run.state.parts) };
  } catch (error) {
    const failed = failureEvent('start-failed', error);
    await advance(ctx, run.state, failed);
    return { status: 'failed', code: failed.code, reason: failed.reason };
  }
}

/** The running start's view of the record: part updates saved one after another, each conditional. */
function createRun(store: ImportStore, initial: ImportState) {
  let chain = Promise.resolve();
  const run = {
    state: initial,
    update(change: (state: ImportState) => ImportState): Promise<void> {
      chain = chain.then(async () => {
        const saved = await store.save(change(run.state));
        if (!saved) throw new Error(`The bulk import ${initial.write} changed under its running start`);
        run.state = saved;
      });
      return chain;
    },
  };
  return run;
}
type Run = ReturnType<typeof createRun>;

const setPart = (index: number, part: ImportPart) => (state: ImportState) => {
  const parts = [...state.parts];
  // Parts upload out of order: a part not yet cut stays pending, never a hole (JSON null).
  for (let i = parts.length; i < index; i++) parts[i] = { rows: 0, state: 'pending' };
  parts[index] = part;
  return { ...state, parts };
};

/** Checks the ZIP or bare CSV whole (before any Zoho call), then cuts and uploads its parts, overlapping. */
async function uploadParts(ctx: StartContext, run: Run): Promise<JobOptions> {
  const { deps, object } = ctx;
  const unknown = run.state.parts.findIndex((p) => p.state === 'creating');
  if (unknown >= 0) {
    throw new PipelineError(
      'BULK_JOB_OUTCOME_UNKNOWN',
      `Creating the job for part ${unknown + 1} was cut off and it may exist in Zoho: check Zoho's bulk write jobs before replaying the file.`,
    );
  }
  // A replay whose every part is kept (landed, or its job still running) sends nothing.
  if (run.state.parts.length > 0 && run.state.parts.every(isKept)) return {};
  const reader = s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId);
  const source = await inspectBulkSource(reader, fileNameOf(object.key), {
    metadata: object.metadata,
    ...bulkLimits(deps),
    operation: run.state.operation,
  });
  const [csv] = source.csvs;
  if (!csv) throw new PipelineError('ZIP_NO_CSV', 'The ZIP holds no .csv file.');
  await run.update((state) => ({ ...state, csv: csv.name }));
  if (source.jobOptions.children) {
    await uploadFamily(ctx, run, source);
    return source.jobOptions;
  }
  deps.log.info('Bulk write: uploading parts', { rows: csv.rows });

  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-'));
  const pool = createPool(partsAtOnce(deps.config.zohoMaxInFlight));
  try {
    await splitCsvToZips(await source.open(csv.name), {
      dir,
      entryName: csv.name,
      rowsPerPart: deps.config.bulkRowsPerPart,
      onPart: (part, index) => pool.add(() => uploadPart(ctx, run, part, index)),
    });
    await pool.drain();
    return source.jobOptions;
  } finally {
    await pool.drain().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Whether a replay keeps this part (its rows landed or its job runs): then it is not sent again.
 * A kept part must be cut from the same rows as before, or the source is not what was sent.
 */
function keptPart(state: ImportState, index: number, part: CsvPart): boolean {
  const kept = state.parts[index];
  if (!kept || !isKept(kept)) return false;
  if (kept.rows !== part.rows) {
    throw new PipelineError(
      'BULK_SOURCE_CHANGED',
      `Part ${index + 1} of the CSV now has ${part.rows} rows, ${kept.rows} were sent: the file, or BULK_ROWS_PER_PART, is not what it was when the import began.`,
    );
  }
  return true;
}

async function createJob(ctx: StartContext, run: Run, index: number, options: JobOptions): Promise<void> {
  const { deps, signal } = ctx;
  const part = run.state.parts[index];
  if (part?.state !== 'pending' || !part.fileId) return;
  await run.update(setPart(index, { ...part, state: 'creating' }));
  try {
    const fileId = part.fileId;
    const { job, resource, children } = placeJobOptions(options);
    const { jobId } = await deps.zoho.createBulkWriteJob(
      {
        operation: run.state.operation,
        ...job,
        resource: [
          {
            module: run.state.module,
            file_id: fileId,
            ...(children.length > 0 ? { file_names: [run.state.csv] } : {}),
            ...resource,
          },
          ...children.map((child) => ({
            module: child.module,
            file_id: fileId,
            file_names: [child.file],
            field_mappings: child.field_mappings,
          })),
        ],
      },
      { signal },
    );
    await run.update(setPart(index, { ...part, state: 'created', jobId }));
  } catch (error) {
    if (error instanceof ZohoOutcomeUnknownError) {
      throw new PipelineError(
        'BULK_JOB_OUTCOME_UNKNOWN',
        `The connection was lost while creating the job for part ${index + 1}; it may exist in Zoho: check before replaying the file.`,
        { cause: error },
      );
    }
    // Zoho answered: the job was not made, so the part may be tried again.
    await run.update(setPart(index, { rows: part.rows, state: 'pending' }));
    throw error;
  }
}

/** One part's ZIP to Zoho's file host (unless its job already exists), then gone from /tmp. */
async function uploadPart(ctx: StartContext, run: Run, part: CsvPart, index: number): Promise<void> {
  const { deps, object, signal } = ctx;
  try {
    if (keptPart(run.state, index, part)) return;
    // Tried again from the file as #zoho/failures.ts says; an upload whose outcome is unknown is
    // sent again without looking: it writes no record (only the job does), a lost copy is unused.
    const { fileId } = await withRetries(deps, { signal }, () =>
      deps.zoho.uploadBulkFile(
        {
          body: createReadStream(part.path),
          fileName: `${baseName(object.key)}-part${index + 1}.zip`,
          size: part.size,
          contentType: 'application/zip',
        },
        { signal },
      ),
    );
    await run.update(setPart(index, { rows: part.rows, state: 'pending', fileId }));
  } finally {
    await rm(part.path, { force: true });
  }
}

/**
 * A parent-child import (seed 003): cut into parts of at most 25,000 rows per CSV, each child row
 * in the part of its parent (split-family.ts), each part one upload and one job.
 */
async function uploadFamily(ctx: StartContext, run: Run, source: InspectedBulkSource): Promise<void> {
  const { deps } = ctx;
  const [parent] = source.csvs;
  if (!parent) return;
  const dir = await mkdtemp(join(tmpdir(), 's3-to-zoho-'));
  const pool = createPool(partsAtOnce(deps.config.zohoMaxInFlight));
  try {
    const family = { parent: parent.name, links: familyLinks(source.jobOptions), open: source.open };
    const parts = await splitFamilyToZips(family, { dir });
    deps.log.info('Bulk write: uploading parent-child parts', { rows: parent.rows, parts: parts.length });
    for (const [index, part] of parts.entries()) await pool.add(() => uploadPart(ctx, run, part, index));
    await pool.drain();
  } finally {
    await pool.drain().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

function bulkLimits(deps: StartDeps) {
  return { maxRows: deps.config.bulkMaxRows, maxInflatedBytes: deps.config.bulkMaxInflatedBytes };
}

const fileNameOf = (key: string) => key.split('/').pop() ?? '';

/** The name of what Zoho is sent, from the key's file name without its `.zip` or `.csv`. */
function baseName(key: string): string {
  return (fileNameOf(key) || 'bulk').replace(/\.(zip|csv)$/i, '');
}
