/**
 * One object, start to end: look at it, route its key, push it once, write the outcome on it.
 * Permanent failures become a `failed` outcome on the object; retryable ones are thrown.
 */
import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { type FileRouteMatch, routeKey } from '#lib/routing/route.ts';
import type { ObjectEvent } from '#lib/s3/event.ts';
import { bareETag, headObject, type StoredObject } from '#lib/s3/object.ts';
import { readTags, writeOutcome } from '#lib/s3/tags.ts';
import type { RecordRef } from '#zoho/types.ts';
import { startBulkImport } from './bulk/start.ts';
import { importStore } from './bulk/store.ts';
import type { PipelineDeps } from './deps.ts';
import { failedOutcome, isRetryable, type Outcome, PipelineError } from './outcome.ts';
import { pushAttachment, pushPhoto } from './push-file.ts';
import { record, writing } from './record.ts';

export async function processObject(
  deps: PipelineDeps,
  event: ObjectEvent,
  signal: AbortSignal,
): Promise<Outcome> {
  const object = await headObject(deps.s3, event);
  if (!object) {
    deps.log.warn('The object is gone; nothing to push');
    return { status: 'skipped', code: 'OBJECT_GONE' };
  }
  if (!event.versionId && event.eTag && bareETag(object.eTag) !== bareETag(event.eTag)) {
    // Overwritten since the event: the newer version has an event of its own, and these tags are its.
    deps.log.info('The object was overwritten since this event; the newer event pushes it');
    return { status: 'skipped', code: 'SUPERSEDED' };
  }

  const routed = routeKey(deps.routes, object.key, object.metadata);
  if (!routed.ok) {
    return record(deps, object, {
      status: routed.error.code === 'UNROUTED' ? 'skipped' : 'failed',
      code: routed.error.code,
      reason: routed.error.message,
    });
  }
  const route = routed.value;
  if (route.kind !== deps.kind) {
    return record(deps, object, {
      status: 'skipped',
      code: 'WRONG_KIND',
      reason: `The key routes to ${route.kind} pushes but reached the ${deps.kind} function: check the bucket notification prefixes and ROUTES.`,
    });
  }

  try {
    const write = writeId(object, event);
    if (route.kind === 'bulk-write') {
      // The import's own record decides, and records its outcome itself (bulk/machine.ts).
      const request = { object, write, replay: event.replay === true, route, signal };
      return await startBulkImport(deps, importStore(deps), request);
    }
    return await deps.once(write, async () => {
      const previous = await readOwnTags(deps, object);
      if (previous['zoho-status'] === 'done') {
        deps.log.info('Already pushed (zoho-status=done); not pushing again');
        return { status: 'done', ...(previous['zoho-id'] ? { zohoId: previous['zoho-id'] } : {}) };
      }
      return await record(deps, object, await pushFile(deps, object, route, previous, signal));
    });
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
 * Writes why a push will be retried on the object, so one that ends in the dead-letter queue says
 * why. An attempt that may have reached Zoho stays `pushing` with its time: the retry looks first.
 */
async function noteRetry(deps: PipelineDeps, object: StoredObject, error: unknown): Promise<void> {
  const { code, reason } = failedOutcome(error);
  try {
    const previous = await readOwnTags(deps, object);
    const attempt = previous['zoho-status'] === 'pushing' ? previous['zoho-attempt'] : undefined;
    await writeOutcome(
      deps.s3,
      object.bucket,
      object.key,
      object.versionId,
      {
        ...(attempt ? { 'zoho-status': 'pushing', 'zoho-attempt': attempt } : { 'zoho-status': 'retrying' }),
        'zoho-at': deps.now().toISOString(),
        ...(code ? { 'zoho-error': code } : {}),
        ...(reason ? { 'zoho-reason': reason } : {}),
      },
      writing(deps),
    );
  } catch (tagError) {
    deps.log.warn('Could not write the retry reason on the object', { error: tagError });
  }
}

async function pushFile(
  deps: PipelineDeps,
  object: StoredObject,
  route: FileRouteMatch,
  previous: Record<string, string>,
  signal: AbortSignal,
): Promise<Outcome> {
  const target = await resolveTarget(deps, route, signal);
  const attemptAt = previous['zoho-status'] === 'pushing' ? parseDate(previous['zoho-attempt']) : undefined;
  const push = {
    object,
    target,
    fileName: route.fileName,
    earlierAttemptAt: attemptAt,
    signal,
    beforeUpload: () =>
      writeOutcome(
        deps.s3,
        object.bucket,
        object.key,
        object.versionId,
        { 'zoho-status': 'pushing', 'zoho-attempt': (attemptAt ?? deps.now()).toISOString() },
        writing(deps),
      ),
  };
  return route.kind === 'photo' ? pushPhoto(deps, push) : pushAttachment(deps, push);
}

/** A record named by a field's value: exactly one exact match, never a guess. */
async function resolveTarget(
  deps: PipelineDeps,
  route: FileRouteMatch,
  signal: AbortSignal,
): Promise<RecordRef> {
  if ('recordId' in route.target) return { module: route.module, recordId: route.target.recordId };
  const { field, value } = route.target.lookup;
  const matches = await deps.zoho.searchRecords({ module: route.module, field, value }, { signal });
  if (matches.length === 0) {
    throw new PipelineError(
      'LOOKUP_NO_MATCH',
      `No ${route.module} record has ${field} equal to "${value}": create it, or name the record id in the key.`,
    );
  }
  if (matches.length > 1) {
    const ids = matches.slice(0, 5).map((m) => m.id);
    throw new PipelineError(
      'LOOKUP_AMBIGUOUS',
      `${matches.length} ${route.module} records have ${field} equal to "${value}" (${ids.join(', ')}): name the record id in the key.`,
    );
  }
  const [match] = matches as [{ id: string }];
  return { module: route.module, recordId: match.id };
}

/**
 * What makes one push: the version, or in an unversioned bucket the bytes (eTag) and the PUT
 * (sequencer: the same in every delivery of one event, new with each write). The same file dropped
 * again is a new push; the same event delivered again is not.
 */
export function writeId(object: StoredObject, event: ObjectEvent): string {
  const at = `${object.bucket}/${object.key}`;
  if (object.versionId) return `${at}#${object.versionId}`;
  return [at, bareETag(object.eTag), event.sequencer].filter(Boolean).join('#');
}

/**
 * Our tags as this object's own. Tags written before the object itself are inherited (a copy
 * takes its source's tags) and say nothing about it.
 */
async function readOwnTags(deps: PipelineDeps, object: StoredObject): Promise<Record<string, string>> {
  const tags = await readTags(deps.s3, object.bucket, object.key, object.versionId);
  const map = Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? '']));
  const writtenAt = parseDate(map['zoho-at'] ?? map['zoho-attempt']);
  const inherited = writtenAt && object.lastModified && writtenAt < object.lastModified;
  return inherited ? {} : map;
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
