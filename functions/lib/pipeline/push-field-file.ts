/**
 * A file for a record's file-upload field: checked, sent to Zoho's file store (ZFS), then its id
 * added to the field, the files already there kept (crm-oas v8.0 files.json and record.json).
 *
 * The field is read before each upload: it must be a list of files. How many files a field takes
 * is Zoho's to say: no Zoho source gives a number (⚠ crm-oas v8.0 fields.json has no file count),
 * so a full field is Zoho's refusal of the update, reported with Zoho's code (the file then stays
 * in ZFS unused). After an unknown outcome a file in the field is adopted only when it provably holds
 * this object's bytes: same name and size, added since the attempt, and the same SHA-256 once
 * downloaded. A file that reached ZFS but never the field is not visible on the record and is sent
 * again; the stray ZFS copy is Zoho's to expire.
 */
import { checkAttachment } from '#lib/inspect/attachment.ts';
import { FIELD_FILE_MAX_BYTES } from '#lib/inspect/limits.ts';
import { openObject } from '#lib/s3/object.ts';
import type { PipelineDeps } from './deps.ts';
import { type Outcome, PipelineError } from './outcome.ts';
import { type FilePush, findOwnBytes, withRetries } from './push-file.ts';

export async function pushFieldFile(deps: PipelineDeps, push: FilePush, field: string): Promise<Outcome> {
  const { object, target, fileName, signal } = push;
  checkAttachment({
    fileName,
    size: object.size,
    maxBytes: FIELD_FILE_MAX_BYTES,
    target: 'file-upload fields',
  });
  const where = `field ${field} of the ${target.module} record ${target.recordId}`;

  return withRetries(deps, push, async (mayHaveLandedSince) => {
    const held = await deps.zoho.getFieldFiles(target, field, { signal });
    if ('notFiles' in held) {
      throw new PipelineError(
        'NOT_A_FILE_UPLOAD_FIELD',
        `The ${where} holds a value that is not a list of files: name a file-upload field in the key.`,
      );
    }
    const landed = mayHaveLandedSince
      ? await findOwnBytes(deps, push, mayHaveLandedSince, held.files, (file) =>
          deps.zoho.downloadFieldFile(target, file.id, { signal }),
        )
      : undefined;
    if (landed) {
      deps.log.info('An earlier attempt had put these bytes in the field; not pushing again', {
        fileId: landed.fileId,
      });
      return done(landed.fileId);
    }
    await push.beforeUpload();
    const body = await openObject(deps.s3, object, signal);
    const contentType = object.contentType ? { contentType: object.contentType } : {};
    const { fileId } = await deps.zoho.uploadFieldFile(
      { body, fileName, size: object.size, ...contentType },
      { signal },
    );
    await deps.zoho.addFieldFiles(target, field, [fileId], { signal });
    return done(fileId);
  });
}

/** Done with the ZFS file id: the field's entry for this file names it (`File_Id__s`). */
function done(fileId: string): Outcome {
  return { status: 'done', zohoId: fileId };
}
