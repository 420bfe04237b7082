/**
 * Attachments and photos: check the object, then stream it from S3 to the record.
 *
 * A failure Zoho may get over (429, 5xx, a connection lost) is retried here as the push's column of
 * #zoho/failures.ts says, with back-off and within the deadline: the object is re-opened from S3
 * for each attempt. An upload whose outcome
 * is unknown (the connection was lost after bytes went out, or an earlier Lambda died) is looked
 * for on the record first, and adopted only when it provably holds this object's bytes: same
 * name, same size, created since the attempt, and the same SHA-256 once downloaded.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { checkAttachment } from '#lib/inspect/attachment.ts';
import { inspectImage } from '#lib/inspect/image.ts';
import { LINK_MAX_BYTES, parseLink } from '#lib/inspect/link.ts';
import { checkPhotoModule } from '#lib/inspect/photo-module.ts';
import { s3RangeReader } from '#lib/inspect/range-reader.ts';
import { openObject, type StoredObject } from '#lib/s3/object.ts';
import { ZohoRequestError } from '#zoho/errors.ts';
import { decidePushRetry, pushRetryPolicy, realSleep } from '#zoho/retry.ts';
import type { AttachmentInfo, RecordRef } from '#zoho/types.ts';
import type { PipelineDeps } from './deps.ts';
import type { Outcome } from './outcome.ts';
import { tagsOf } from './outcome-tags.ts';

export interface FilePush {
  object: StoredObject;
  target: RecordRef;
  fileName: string;
  /** Set when an earlier attempt began at this time and may have landed. */
  earlierAttemptAt: Date | undefined;
  /** Called once the checks pass, just before each upload; gives the time of the first attempt. */
  beforeUpload: () => Promise<Date>;
  /** Called before waiting to try again: says `retrying` on the object, with when. */
  beforeRetry: (error: unknown, retryAt: Date) => Promise<void>;
  signal: AbortSignal;
}

/** Zoho's Created_Time has whole seconds and its clock is not ours. */
const CLOCK_SLACK_MS = 60_000;

export async function pushAttachment(deps: PipelineDeps, push: FilePush): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  checkAttachment({ fileName, size: object.size, maxBytes: deps.config.attachmentMaxBytes });

  return withRetries(deps, push, async (mayHaveLandedSince) => {
    if (mayHaveLandedSince) {
      const landed = await findLanded(deps, push, mayHaveLandedSince);
      if (landed) {
        deps.log.info('An earlier attempt had landed with these bytes; not pushing again', {
          attachmentId: landed.id,
        });
        return { status: 'done', zohoId: landed.id };
      }
    }
    await push.beforeUpload();
    const body = await openObject(deps.s3, object, signal);
    const contentType = object.contentType ? { contentType: object.contentType } : {};
    const { id } = await deps.zoho.uploadAttachment(
      target,
      { body, fileName, size: object.size, ...contentType },
      { signal },
    );
    return { status: 'done', zohoId: id };
  });
}

export async function pushPhoto(deps: PipelineDeps, push: FilePush): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  checkPhotoModule(target.module);
  const image = await inspectImage(
    s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId),
  );
  // A photo replaces the record's current one: pushing it again is harmless, no look-up needed.
  return withRetries(deps, push, async () => {
    await push.beforeUpload();
    const body = await openObject(deps.s3, object, signal);
    await deps.zoho.uploadPhoto(
      target,
      { body, fileName, size: object.size, contentType: image.contentType },
      { signal, restrictTriggers: deps.config.photoRestrictTriggers },
    );
    return { status: 'done', tags: tagsOf({ photo: `${image.format} ${image.width}x${image.height}` }) };
  });
}

/**
 * A link attachment: the URL read from the object. A URL the record already has is Zoho's
 * refusal (INVALID_DATA): that is `skipped` with the existing attachment's id, and after an
 * unknown outcome the link found on the record is this push's.
 */
export async function pushLink(deps: PipelineDeps, push: FilePush): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  const bytes =
    object.size <= LINK_MAX_BYTES ? await buffer(await openObject(deps.s3, object, signal)) : Buffer.alloc(0);
  const link = parseLink(fileName, object.size, bytes);
  const existing = async () =>
    (await deps.zoho.listAttachments(target, { signal })).find((a) => a.linkUrl === link.url);
  return withRetries(deps, push, async (mayHaveLandedSince) => {
    const landed = mayHaveLandedSince ? await existing() : undefined;
    if (landed) return { status: 'done', zohoId: landed.id };
    await push.beforeUpload();
    try {
      const { id } = await deps.zoho.attachLink(target, link, { signal });
      return { status: 'done', zohoId: id };
    } catch (error) {
      const already =
        error instanceof ZohoRequestError && error.zohoCode === 'INVALID_DATA' ? await existing() : undefined;
      if (!already) throw error;
      return {
        status: 'skipped',
        code: 'LINK_ALREADY_ATTACHED',
        zohoId: already.id,
        reason: `The record already has this link (attachment ${already.id}); Zoho attaches a URL once.`,
      };
    }
  });
}

/** What the push's retries need of the pipeline. */
export type RetryDeps = Pick<PipelineDeps, 'now' | 'countRetry' | 'log'> & {
  config: Pick<PipelineDeps['config'], 'pushRetryBaseMs'>;
};

/** One upload's retries: the deadline, where an earlier attempt may have landed, the note before each wait. */
export interface RetriedUpload {
  signal: AbortSignal;
  earlierAttemptAt?: Date | undefined;
  beforeRetry?: ((error: unknown, retryAt: Date) => Promise<void>) | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the attempts or the deadline run out (then
 * the last failure is thrown and the queue retries), as the push's column of #zoho/failures.ts
 * says. `attempt` is told since when an earlier upload may have landed.
 */
export async function withRetries<T>(
  deps: RetryDeps,
  push: RetriedUpload,
  attempt: (mayHaveLandedSince: Date | undefined) => Promise<T>,
): Promise<T> {
  const policy = pushRetryPolicy(deps.config.pushRetryBaseMs);
  let mayHaveLandedSince = push.earlierAttemptAt;
  for (let n = 1; ; n += 1) {
    const startedAt = deps.now();
    try {
      return await attempt(mayHaveLandedSince);
    } catch (error) {
      if (push.signal.aborted) throw error;
      const decision = decidePushRetry(policy, { error, attempt: n });
      if (!decision.retry) throw error;
      if (decision.lookFirst) mayHaveLandedSince ??= startedAt;
      const { delayMs } = decision;
      deps.countRetry(error);
      deps.log.warn('Push failed; trying again', { attempt: n, delayMs, error });
      await push.beforeRetry?.(error, new Date(deps.now().getTime() + delayMs));
      await realSleep(delayMs, push.signal).catch(() => {
        throw error; // the deadline came first: the queue retries, with this reason on the object
      });
    }
  }
}

/** An attachment on the record that holds exactly this object's bytes, made since `since`. */
async function findLanded(
  deps: PipelineDeps,
  push: FilePush,
  since: Date,
): Promise<AttachmentInfo | undefined> {
  const { target, signal } = push;
  const attachments = await deps.zoho.listAttachments(target, { signal });
  return findOwnBytes(deps, push, since, attachments, (a) =>
    deps.zoho.downloadAttachment(target, a.id, { signal }),
  );
}

/**
 * The file among `files` that provably holds this object's bytes: same name and size, made since
 * `since` (less the clock slack), and the same SHA-256 once downloaded.
 */
export async function findOwnBytes<T extends { fileName: string; size: number; createdTime: string }>(
  deps: PipelineDeps,
  push: FilePush,
  since: Date,
  files: readonly T[],
  download: (file: T) => Promise<Readable>,
): Promise<T | undefined> {
  const { object, fileName } = push;
  const from = since.getTime() - CLOCK_SLACK_MS;
  const candidates = files.filter(
    (f) => f.fileName === fileName && f.size === object.size && Date.parse(f.createdTime) >= from,
  );
  if (candidates.length === 0) return undefined;
  const ours = await ownSha256(deps, push);
  for (const candidate of candidates) {
    if ((await sha256Of(await download(candidate))) === ours) return candidate;
  }
  return undefined;
}

/** The object's SHA-256, read from S3 once per push however many attempts look for it. */
const ownHashes = new WeakMap<FilePush, Promise<string>>();

function ownSha256(deps: PipelineDeps, push: FilePush): Promise<string> {
  let hash = ownHashes.get(push);
  if (!hash) {
    hash = openObject(deps.s3, push.object, push.signal).then(sha256Of);
    hash.catch(() => ownHashes.delete(push)); // a failed read is read again by the next attempt
    ownHashes.set(push, hash);
  }
  return hash;
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
