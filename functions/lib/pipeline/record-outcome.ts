/** The one place an outcome is told: tags on the object, a log line, a metric (and `npm start`'s report). */
import type { StoredObject } from '#lib/s3/object.ts';
import { type OutcomeWriting, writeOutcome } from '#lib/s3/tags.ts';
import type { PipelineDeps } from './deps.ts';
import { keepFullReason } from './full-reason.ts';
import { type Outcome, outcomeTags } from './outcome.ts';

/** Writes the outcome on the object (a reason its tag cuts short also in full, full-reason.ts), logs it and counts it. */
export async function record(deps: PipelineDeps, object: StoredObject, outcome: Outcome): Promise<Outcome> {
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
export function writing(deps: PipelineDeps): OutcomeWriting {
  return { log: deps.log, onDropped: () => deps.countDroppedTags() };
}
