/**
 * Attachments and photos: check the object, then stream it from S3 to the record. An attachment
 * whose earlier upload may have landed (the connection was lost, the Lambda died) is looked for
 * on the record first, so a retry never makes a second copy.
 */
import { checkAttachment } from '#lib/inspect/attachment.ts';
import { inspectImage } from '#lib/inspect/image.ts';
import { s3RangeReader } from '#lib/inspect/range-reader.ts';
import { openObject, type StoredObject } from '#lib/s3/object.ts';
import type { AttachmentInfo, RecordRef } from '#zoho/types.ts';
import type { PipelineDeps } from './deps.ts';
import type { Outcome } from './outcome.ts';

export interface FilePush {
  object: StoredObject;
  target: RecordRef;
  fileName: string;
  /** Set when an earlier attempt began at this time and may have landed. */
  earlierAttemptAt: Date | undefined;
  /** Called once the checks pass, just before the first byte goes out. */
  beforeUpload: () => Promise<void>;
  signal: AbortSignal;
}

/** Zoho's Created_Time has whole seconds and its clock is not ours. */
const CLOCK_SLACK_MS = 60_000;

export async function pushAttachment(deps: PipelineDeps, push: FilePush): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  checkAttachment({ fileName, size: object.size, maxBytes: deps.config.attachmentMaxBytes });

  if (push.earlierAttemptAt) {
    const landed = findLanded(
      await deps.zoho.listAttachments(target, { signal }),
      fileName,
      object.size,
      push.earlierAttemptAt,
    );
    if (landed) {
      deps.log.info('An earlier attempt had landed; not pushing again', { attachmentId: landed.id });
      return { status: 'done', zohoId: landed.id };
    }
  }

  await push.beforeUpload();
  const body = await openObject(deps.s3, object, signal);
  const { id } = await deps.zoho.uploadAttachment(
    target,
    { body, fileName, size: object.size, ...(object.contentType ? { contentType: object.contentType } : {}) },
    { signal },
  );
  return { status: 'done', zohoId: id };
}

export async function pushPhoto(deps: PipelineDeps, push: FilePush): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  const image = await inspectImage(
    s3RangeReader(deps.s3, object.bucket, object.key, object.size, object.versionId),
  );
  // A photo replaces the record's current one: pushing it again is harmless, no look-up needed.
  await push.beforeUpload();
  const body = await openObject(deps.s3, object, signal);
  await deps.zoho.uploadPhoto(
    target,
    { body, fileName, size: object.size, contentType: image.contentType },
    { signal, restrictTriggers: deps.config.photoRestrictTriggers },
  );
  return { status: 'done', tags: { 'zoho-photo': `${image.format} ${image.width}x${image.height}` } };
}

function findLanded(
  attachments: AttachmentInfo[],
  fileName: string,
  size: number,
  attemptAt: Date,
): AttachmentInfo | undefined {
  const since = attemptAt.getTime() - CLOCK_SLACK_MS;
  return attachments.find(
    (a) => a.fileName === fileName && a.size === size && Date.parse(a.createdTime) >= since,
  );
}
