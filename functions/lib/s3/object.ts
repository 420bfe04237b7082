/** Reading the object a push is about: the exact version the event named, streamed. */
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, type S3Client } from '@aws-sdk/client-s3';

export interface StoredObject {
  bucket: string;
  key: string;
  versionId: string | undefined;
  eTag: string;
  size: number;
  contentType: string | undefined;
  /** When this object (this version) was written. */
  lastModified: Date | undefined;
  /** User metadata, keys lower-case without `x-amz-meta-`. */
  metadata: Record<string, string>;
  /**
   * How many tags the object had when it was looked at: S3's `x-amz-tagging-count`, absent when
   * there are none (given s3:GetObjectTagging, which the functions have).
   */
  tagCount: number;
}

/** The object as it is now, or undefined when it is gone (deleted before we got to it). */
export async function headObject(
  s3: S3Client,
  ref: { bucket: string; key: string; versionId?: string | undefined },
): Promise<StoredObject | undefined> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: ref.versionId }),
    );
    return {
      bucket: ref.bucket,
      key: ref.key,
      versionId: head.VersionId ?? ref.versionId,
      eTag: head.ETag ?? '',
      size: head.ContentLength ?? 0,
      contentType: head.ContentType,
      lastModified: head.LastModified,
      metadata: head.Metadata ?? {},
      tagCount: head.TagCount ?? 0,
    };
  } catch (error) {
    if (error instanceof NotFound || error instanceof NoSuchKey) return undefined;
    throw error;
  }
}

/** Streams the object; `IfMatch` guarantees the bytes are those that were checked. */
export async function openObject(
  s3: S3Client,
  object: StoredObject,
  signal?: AbortSignal,
): Promise<Readable> {
  const answer = await s3.send(
    new GetObjectCommand({
      Bucket: object.bucket,
      Key: object.key,
      VersionId: object.versionId,
      IfMatch: object.versionId ? undefined : object.eTag,
    }),
    signal ? { abortSignal: signal } : {},
  );
  if (!answer.Body) throw new Error(`S3 returned no body for s3://${object.bucket}/${object.key}`);
  return answer.Body as Readable;
}

/**
 * In an unversioned bucket, other bytes are under the key now than the write `expected` names (its
 * eTag): the newer write has an event of its own. A versioned read names its version: never.
 */
export function overwrittenSince(
  object: StoredObject,
  expected: { versionId?: string | undefined; eTag?: string | undefined },
): boolean {
  return (
    !expected.versionId && Boolean(expected.eTag) && bareETag(object.eTag) !== bareETag(expected.eTag ?? '')
  );
}

/** S3 quotes eTags in some answers and not in others. */
export function bareETag(eTag: string): string {
  return eTag.replace(/"/g, '');
}
