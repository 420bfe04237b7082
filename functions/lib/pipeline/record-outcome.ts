/** The one place an outcome is told: tags on the object, a log line, a metric (and `npm start`'s report). */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Log } from '#lib/log.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import { type OutcomeWriting, writeOutcome } from '#lib/s3/tags.ts';
import { keepFullReason, type LedgerTable } from './full-reason.ts';
import { type Outcome, outcomeTags } from './outcome.ts';

/** What telling an outcome takes (the pipeline's dependencies hold it: deps.ts). */
export interface OutcomeRecording {
  s3: S3Client;
  log: Log;
  now: () => Date;
  /** Where a reason the tag cuts short is kept in full (full-reason.ts). */
  ledger: LedgerTable;
  /** Counts an outcome in the metrics. */
  count: (outcome: Outcome, bytes: number) => void;
  /** Counts an outcome whose tags found no room beside the user's own (S3 allows 10). */
  countDroppedTags: () => void;
  /** Told of each outcome once it is on its object (`npm start` prints them; unset in Lambda). */
  onRecorded?: ((object: StoredObject, outcome: Outcome) => void) | undefined;
}

/** Writes the outcome on the object (a reason its tag cuts short also in full, full-reason.ts), logs it and counts it. */
export async function record(
  deps: OutcomeRecording,
  object: StoredObject,
  outcome: Outcome,
): Promise<Outcome> {
  const tags = outcomeTags(outcome, deps.now());
  await writeOutcome(deps.s3, object.bucket, object.key, object.versionId, tags, writing(deps));
  await keepFullReason(deps, object, tags);
  const fields = {
    outcome: outcome.status,
    zohoId: outcome.zohoId,
    code: outcome.code,
    reason: outcome.reason,
  };
  if (outcome.status === 'failed') deps.log.error('Push failed', fields);
  else deps.log.info(`Push ${outcome.status}`, fields);
  deps.count(outcome, object.size);
  deps.onRecorded?.(object, outcome);
  return outcome;
}

/** Our tags that do not fit beside the user's are warned about (with the key) and counted. */
export function writing(deps: Pick<OutcomeRecording, 'log' | 'countDroppedTags'>): OutcomeWriting {
  return { log: deps.log, onDropped: () => deps.countDroppedTags() };
}
