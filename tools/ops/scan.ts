/**
 * Walking a prefix of the bucket with each object's outcome tags: what `status` counts and
 * `replay` selects from. Tag reads run concurrently, but never more than `concurrency` at once.
 */
import { GetObjectTaggingCommand, ListObjectsV2Command, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';

export const DEFAULT_TAG_CONCURRENCY = 16;

export interface ScannedObject {
  key: string;
  size: number;
  /** Without the quotes S3 lists it with, as event notifications carry it. */
  eTag: string;
  lastModified: Date | undefined;
  /** The current version, when the bucket is versioned (from the tag read). */
  versionId: string | undefined;
  tags: Record<string, string>;
}

export interface ScanOptions {
  s3: S3Client;
  bucket: string;
  prefix: string;
  /** Keys under it are never pushed (the pipeline's own output): default `bulk-write-results/`. */
  resultsPrefix?: string | undefined;
  /** Tag reads at once; default 16. */
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Start after this key (S3 lists keys in order): resumes a scan that stopped. */
  startAfter?: string | undefined;
}

/** Every object under the prefix with its tags, page by page; folder markers and results left out. */
export async function* scanObjects(options: ScanOptions): AsyncGenerator<ScannedObject> {
  const { s3, bucket, prefix, signal } = options;
  const resultsPrefix = options.resultsPrefix ?? DEFAULT_RESULTS_PREFIX;
  const concurrency = options.concurrency ?? DEFAULT_TAG_CONCURRENCY;
  let continuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        ContinuationToken: continuationToken,
        ...(continuationToken || !options.startAfter ? {} : { StartAfter: options.startAfter }),
      }),
      sendOptions(signal),
    );
    continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    const listed = (page.Contents ?? []).filter(
      (entry): entry is typeof entry & { Key: string } =>
        entry.Key !== undefined &&
        !isFolderMarker(entry.Key) &&
        !(resultsPrefix && entry.Key.startsWith(resultsPrefix)),
    );
    const scanned = await mapBounded(listed, concurrency, async (entry) => {
      const tagging = await readTagging(s3, bucket, entry.Key, signal);
      if (!tagging) return undefined;
      return {
        key: entry.Key,
        size: entry.Size ?? 0,
        eTag: (entry.ETag ?? '').replaceAll('"', ''),
        lastModified: entry.LastModified,
        versionId: tagging.versionId,
        tags: tagging.tags,
      } satisfies ScannedObject;
    });
    for (const object of scanned) if (object) yield object;
  } while (continuationToken);
}

/** A zero-byte `folder/` object made by the console: not a file, nothing to push. */
function isFolderMarker(key: string): boolean {
  return key.endsWith('/');
}

async function readTagging(
  s3: S3Client,
  bucket: string,
  key: string,
  signal: AbortSignal | undefined,
): Promise<{ tags: Record<string, string>; versionId: string | undefined } | undefined> {
  try {
    const answer = await s3.send(
      new GetObjectTaggingCommand({ Bucket: bucket, Key: key }),
      sendOptions(signal),
    );
    const tags: Record<string, string> = {};
    for (const tag of answer.TagSet ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
    return { tags, versionId: answer.VersionId };
  } catch (error) {
    // Deleted between the listing and the tag read: it is no longer there to count or replay.
    if (error instanceof NoSuchKey || (error as { name?: unknown }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** The SDK's per-call options: its abort signal, when there is one. */
export function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal ? { abortSignal: signal } : {};
}

/** `map` with at most `limit` calls in flight; results in input order. */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  map: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
