/**
 * One look at an import's jobs, a thin adapter around the machine: check the follow-up message,
 * read the import's record, ask Zoho for each running job (side by side, within the client's
 * in-flight budget), and feed what it said to the machine. A look for an older version of the
 * record is a duplicate and is dropped, so a repeated message never doubles the polling chain.
 * A look that finds the jobs running makes no S3 call: the object is looked at only when an
 * outcome is written on it or its results are read.
 * A permanent error (not found, auth, protocol) ends the import `failed`; a retryable one is
 * thrown for the queue to retry.
 */
import { headObject, overwrittenSince, type StoredObject } from '#lib/s3/object.ts';
import type { ZohoClient } from '#zoho/types.ts';
import { type AdvanceDeps, advance, failureEvent } from './advance.ts';
import { parseFollowUp } from './follow-up.ts';
import { type ImportEvent, type ImportState, type JobLook, sumCounts } from './machine.ts';
import type { ImportStore } from './store.ts';

/** What a look at a job takes: Zoho's Get Bulk Write Job Details. */
export interface JobLookDeps {
  zoho: Pick<ZohoClient, 'getBulkWriteJob'>;
}

/** What following an import takes. */
export type FollowDeps = AdvanceDeps & JobLookDeps;

export async function followBulkImport(
  deps: FollowDeps,
  store: ImportStore,
  message: unknown,
  signal: AbortSignal,
): Promise<void> {
  const payload = parseFollowUp(message);
  if (typeof payload === 'string') {
    deps.log.warn('Dropping a bulk write follow-up that is not ours', { reason: payload });
    return;
  }
  const state = await store.get(payload.write);
  if (
    !state ||
    state.attempt !== payload.attempt ||
    state.version !== payload.version ||
    state.status !== 'following'
  ) {
    deps.log.info('Dropping a stale bulk write follow-up', {
      ...payload,
      status: state?.status,
      current: state && { attempt: state.attempt, version: state.version },
    });
    return;
  }
  let object: Promise<StoredObject | undefined> | undefined;
  const source = () => {
    object ??= findSource(deps, state);
    return object;
  };
  await advance({ deps, store, source, signal }, state, await look(deps, state, signal));
}

/**
 * The import's object, looked at once an outcome is to be written on it or its results read:
 * undefined when it is gone, or when an unversioned bucket holds other bytes under its key now
 * (that write's own event imports them; this import's outcome must not land on them).
 */
async function findSource(deps: FollowDeps, state: ImportState): Promise<StoredObject | undefined> {
  const { source } = state;
  const object = await headObject(deps.s3, source);
  if (!object) {
    deps.log.warn('Bulk import of an object that is gone; dropping it', { write: state.write });
    return undefined;
  }
  if (overwrittenSince(object, source)) {
    deps.log.warn('Bulk import of an object overwritten since; dropping it (the newer event imports it)', {
      write: state.write,
    });
    return undefined;
  }
  return object;
}

async function look(deps: FollowDeps, state: ImportState, signal: AbortSignal): Promise<ImportEvent> {
  const at = deps.now().getTime();
  try {
    const jobs = await Promise.all(
      state.parts.flatMap((part, index): Array<Promise<JobLook>> => {
        if (part.state !== 'created' || !part.jobId) return [];
        return [lookAtJob(deps, index, part.jobId, signal)];
      }),
    );
    return { type: 'polled', at, jobs };
  } catch (error) {
    return failureEvent('follow-failed', error);
  }
}

/** What Zoho says of one part's job now. */
export async function lookAtJob(
  deps: JobLookDeps,
  index: number,
  jobId: string,
  signal: AbortSignal,
): Promise<JobLook> {
  const job = await deps.zoho.getBulkWriteJob(jobId, { signal });
  return {
    index,
    status: job.status,
    counts: sumCounts(job.resources.map((r) => r.counts)),
    downloadUrl: job.downloadUrl,
  };
}
