/**
 * What a replay of a bulk import needs before it makes any job (machine.ts says what it keeps):
 * the import it resumes, and a fresh look at the jobs an earlier attempt made.
 */
import type { Log } from '#lib/log.ts';
import { ZohoNotFoundError } from '#zoho/errors.ts';
import { type JobLookDeps, lookAtJob } from './follow.ts';
import type { ImportEvent, ImportState, JobLook } from './machine.ts';
import type { ImportStore } from './store.ts';

/**
 * The write a replay's event resumes. With a version, the version names it. In an unversioned
 * bucket the write id holds the sequencer of the event that made the import, and a replay's
 * event has one of its own: the latest import of these bytes under this key is the one.
 */
export async function replayedWrite(
  store: ImportStore,
  source: ImportState['source'],
  write: string,
): Promise<string> {
  if (source.versionId) return write;
  return (await store.lastWriteOf(source)) ?? write;
}

/**
 * A replay's look at the jobs an earlier attempt made and did not see end (undefined when there
 * are none). A job Zoho does not know (RESOURCE_NOT_FOUND, crm-oas v8.0 bulk_write.json
 * `/crm/bulk/v8/write/{job_id}` get, response 400) is `gone`: its part gets a new job. Any other
 * error is thrown, and the replay fails or is retried as any start is.
 */
export async function lookAgain(
  deps: JobLookDeps & { log: Log },
  state: ImportState,
  signal: AbortSignal,
): Promise<ImportEvent | undefined> {
  const earlier = state.parts.flatMap((part, index) =>
    part.state === 'created' && part.jobId ? [{ index, jobId: part.jobId }] : [],
  );
  if (earlier.length === 0) return undefined;
  const jobs: JobLook[] = [];
  const gone: number[] = [];
  await Promise.all(
    earlier.map(async ({ index, jobId }) => {
      try {
        jobs.push(await lookAtJob(deps, index, jobId, signal));
      } catch (error) {
        // The client answers RESOURCE_NOT_FOUND with a not-found error (zoho/answer-errors.ts).
        if (!(error instanceof ZohoNotFoundError)) throw error;
        gone.push(index);
      }
    }),
  );
  deps.log.info('Bulk import replayed: the earlier jobs looked at again', {
    jobs: jobs.map((j) => ({ part: j.index + 1, status: j.status })),
    gone: gone.map((index) => index + 1),
  });
  return { type: 'rechecked', jobs, gone };
}
