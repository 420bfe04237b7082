/**
 * One object, start to end: look at it, route its key, push it once, write the outcome on it.
 * Permanent failures become a `failed` outcome on the object; retryable ones are thrown.
 */
import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import type { Tag } from '@aws-sdk/client-s3';
import { type FileDestination, routeKey } from '#lib/routing/route.ts';
import type { ObjectEvent } from '#lib/s3/event.ts';
import { bareETag, headObject, overwrittenSince, type StoredObject } from '#lib/s3/object.ts';
import { readTags, tagMap, writeOutcome } from '#lib/s3/tags.ts';
import type { RecordRef } from '#zoho/types.ts';
import { startBulkImport } from './bulk/start.ts';
import { importStore } from './bulk/store.ts';
import type { PipelineDeps } from './deps.ts';
import { keepFullReason } from './full-reason.ts';
import { failedOutcome, isRetryable, type Outcome, PipelineError } from './outcome.ts';
import { readOutcome, type TaggedOutcome, tagsOf } from './outcome-tags.ts';
import { pusherOf } from './pushers.ts';
import { record, writing } from './record-outcome.ts';

export async function processObject(
  deps: PipelineDeps,
  event: ObjectEvent,
  signal: AbortSignal,
): Promise<Outcome> {
  const object =
    (await headObject(deps.s3, event)) ??
    (event.otherKey ? await headObject(deps.s3, { ...event, key: event.otherKey }) : undefined);
  if (!object) {
    deps.log.warn('The object is gone; nothing to push');
    return { status: 'skipped', code: 'OBJECT_GONE' };
  }
  if (overwrittenSince(object, event)) {
    // Overwritten since the event: the newer version has an event of its own, and these tags are its.
    deps.log.info('The object was overwritten since this event; the newer event pushes it');
    return { status: 'skipped', code: 'SUPERSEDED' };
  }

  const routed = routeKey(deps.config.routes, object.key, object);
  if (!routed.ok) {
    return record(deps, object, {
      status: routed.error.code === 'UNROUTED' ? 'skipped' : 'failed',
      code: routed.error.code,
      reason: routed.error.message,
    });
  }
  const destination = routed.value;
  if (destination.kind !== deps.kind) {
    return record(deps, object, {
      status: 'skipped',
      code: 'WRONG_KIND',
      reason: `The key routes to ${destination.kind} pushes but reached the ${deps.kind} function: check the bucket notification prefixes and ROUTES.`,
    });
  }

  try {
    const write = writeId(object, event);
    if (destination.to === 'bulk') {
      // The import's own record decides, and records its outcome itself (bulk/machine.ts).
      const request = {
        object,
        write,
        replay: event.replay === true,
        forced: event.forced === true,
        destination,
        signal,
      };
      return await startBulkImport(deps, importStore(deps), request);
    }
    // The same bytes under the same key to the same record may be one push (pushers.ts, contentId).
    const perContent = pusherOf(destination).once === 'content' && !event.forced;
    const push = perContent ? contentId(object, event, destination) : write;
    let ran = false;
    const outcome = await deps.once(push, async () => {
      ran = true;
      // A new object has no tags (the look said so): nothing to read.
      const previous = object.tagCount === 0 ? NO_TAGS : await readOwnTags(deps, object);
      if (previous.own.status === 'done' && !event.forced) {
        deps.log.info('Already pushed (zoho-status=done); not pushing again');
        return doneBy(previous.own);
      }
      return await record(deps, object, await pushFile(deps, object, destination, previous, signal));
    });
    return ran ? outcome : await answerRepeat(deps, object, outcome);
  } catch (error) {
    if (isRetryable(error)) {
      if (!(error instanceof IdempotencyAlreadyInProgressError)) await noteRetry(deps, object, error);
      throw error;
    }
    // Failures leave the ledger (it keeps only what was pushed), so a replay after a fix runs again.
    return record(deps, object, failedOutcome(error));
  }
}

/**
 * The ledger already holds this write's outcome. A redelivery of the same event finds it on the
 * object already; an identical re-put (a new object with no tags of ours) is told it was pushed.
 */
async function answerRepeat(deps: PipelineDeps, object: StoredObject, stored: Outcome): Promise<Outcome> {
  const { own } = await readOwnTags(deps, object);
  if (stored.status !== 'done' || !stored.zohoId || own.zohoId === stored.zohoId) return stored;
  return record(deps, object, {
    status: 'skipped',
    code: 'ALREADY_PUSHED',
    zohoId: stored.zohoId,
    reason: `These bytes under this key are already on the record (${stored.zohoId}); set metadata ${METADATA_PUSH}=again (or replay --force) for a second copy.`,
  });
}

/**
 * Writes why a push will be retried on the object, so one that ends in the dead-letter queue says
 * why. An attempt that may have reached Zoho keeps its time (`zoho-attempt`): the retry looks first.
 */
async function noteRetry(
  deps: PipelineDeps,
  object: StoredObject,
  error: unknown,
  retryAt?: Date,
): Promise<void> {
  const { code, reason } = failedOutcome(error);
  const at = deps.now(); // before the read: the note is of now, and `zoho-retry-at` comes after it
  try {
    const previous = await readOwnTags(deps, object);
    const note = tagsOf({
      status: 'retrying',
      attempt: previous.own.attempt || undefined,
      retryAt: retryAt?.toISOString(),
      at: at.toISOString(),
      code: code || undefined,
      reason: reason || undefined,
    });
    const written = await writeOutcome(deps.s3, object.bucket, object.key, object.versionId, note, {
      ...writing(deps),
      existing: previous.read,
      unless: (tags) => isOwnDone(tags, object),
    });
    if (written) await keepFullReason(deps, object, note);
    if (written && retryAt) deps.onRetrying?.(object, { code, reason, retryAt });
  } catch (tagError) {
    deps.log.warn('Could not write the retry reason on the object', { error: tagError });
  }
}

/** A `done` written for this object (not one inherited by a copy): nothing may overwrite it but a new outcome. */
function isOwnDone(tags: Record<string, string>, object: StoredObject): boolean {
  const outcome = readOutcome(tags);
  return outcome.status === 'done' && !inherited(outcome, object);
}

async function pushFile(
  deps: PipelineDeps,
  object: StoredObject,
  destination: FileDestination,
  previous: ObjectTags,
  signal: AbortSignal,
): Promise<Outcome> {
  const target = await resolveTarget(deps, destination, signal);
  const earlierAttempt = previous.own.attempt;
  const earlierAttemptAt = earlierAttempt ? parseDate(earlierAttempt) : undefined;
  let attemptAt = earlierAttemptAt;
  // A first attempt straight to a named record makes no call between the read of the tags and its
  // `pushing` mark: that read serves the mark. Later marks (after a look-up, a retry) read again.
  let freshTags = earlierAttempt || !('recordId' in destination.target) ? undefined : previous.read;
  const push = {
    object,
    target,
    fileName: destination.fileName,
    earlierAttemptAt,
    signal,
    async beforeUpload() {
      attemptAt ??= deps.now();
      const pushing = tagsOf({ status: 'pushing', attempt: attemptAt.toISOString() });
      const existing = freshTags;
      freshTags = undefined;
      const written = await writeOutcome(deps.s3, object.bucket, object.key, object.versionId, pushing, {
        ...writing(deps),
        existing,
        // A `done` other than the one there was when this push began (`replay --force` pushes over that one).
        unless: (tags) => isOwnDone(tags, object) && readOutcome(tags).at !== previous.own.at,
      });
      if (!written) throw new PipelineError(SETTLED, 'another delivery recorded this object done');
      return attemptAt;
    },
    beforeRetry: (error: unknown, retryAt: Date) => noteRetry(deps, object, error, retryAt),
  };
  try {
    return await pusherOf(destination).push(deps, push, destination);
  } catch (error) {
    if (!(error instanceof PipelineError && error.code === SETTLED)) throw error;
    deps.log.info('Another delivery pushed this object meanwhile; not pushing again');
    return doneBy((await readOwnTags(deps, object)).own);
  }
}

/** Thrown (never retried) when the object turns out `done` by another delivery before an upload. */
const SETTLED = 'SETTLED_ELSEWHERE';

/** A record named by a field's value: exactly one exact match, never a guess. */
async function resolveTarget(
  deps: PipelineDeps,
  { module, target }: FileDestination,
  signal: AbortSignal,
): Promise<RecordRef> {
  if ('recordId' in target) return { module, recordId: target.recordId };
  const { field, value } = target.lookup;
  const matches = await deps.zoho.searchRecords({ module, field, value }, { signal });
  if (matches.length === 0) {
    throw new PipelineError(
      'LOOKUP_NO_MATCH',
      `No ${module} record has ${field} equal to "${value}": create it, or name the record id in the key.`,
    );
  }
  if (matches.length > 1) {
    const ids = matches.slice(0, 5).map((m) => m.id);
    throw new PipelineError(
      'LOOKUP_AMBIGUOUS',
      `${matches.length} ${module} records have ${field} equal to "${value}" (${ids.join(', ')}): name the record id in the key.`,
    );
  }
  const [match] = matches as [{ id: string }];
  return { module, recordId: match.id };
}

/**
 * What makes one push: the version, or in an unversioned bucket the bytes (eTag) and the PUT
 * (sequencer: the same in every delivery of one event, new with each write). The same event
 * delivered again is not a new push.
 */
export function writeId(object: StoredObject, event: ObjectEvent): string {
  const at = `${object.bucket}/${object.key}`;
  if (object.versionId) return `${at}#${object.versionId}`;
  return [at, bareETag(object.eTag), event.sequencer].filter(Boolean).join('#');
}

/** Metadata asking for a second copy of bytes already pushed: `x-amz-meta-zoho-push: again`. */
const METADATA_PUSH = 'zoho-push';

/**
 * What makes one attachment: the same bytes (eTag) under the same key to the same record are one
 * attachment, however often they are put. Metadata `zoho-push: again` makes the write a push of
 * its own (see `writeId`).
 */
function contentId(object: StoredObject, event: ObjectEvent, destination: FileDestination): string {
  if (object.metadata[METADATA_PUSH]?.trim().toLowerCase() === 'again') return writeId(object, event);
  const { module, target } = destination;
  const record = 'recordId' in target ? target.recordId : `by/${target.lookup.field}/${target.lookup.value}`;
  return `${object.bucket}/${object.key}#${bareETag(object.eTag)}#${module}/${record}`;
}

interface ObjectTags {
  /** What our tags say as this object's own (see readOwnTags). */
  own: TaggedOutcome;
  /** Every tag as read, the user's too: what a write that follows at once merges into. */
  read: Tag[];
}

const NO_TAGS: ObjectTags = { own: {}, read: [] };

/**
 * The object's tags. Tags written before the object itself are inherited (a copy takes its
 * source's tags) and say nothing about it: they are not its own.
 */
async function readOwnTags(deps: PipelineDeps, object: StoredObject): Promise<ObjectTags> {
  const read = await readTags(deps.s3, object.bucket, object.key, object.versionId);
  const own = readOutcome(tagMap(read));
  return { own: inherited(own, object) ? {} : own, read };
}

/** `done` by an earlier push, with the Zoho id its tags name. */
function doneBy(own: TaggedOutcome): Outcome {
  return { status: 'done', ...(own.zohoId ? { zohoId: own.zohoId } : {}) };
}

function inherited(own: TaggedOutcome, object: StoredObject): boolean {
  const writtenAt = parseDate(own.at ?? own.attempt);
  return Boolean(writtenAt && object.lastModified && writtenAt < object.lastModified);
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
