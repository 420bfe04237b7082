/**
 * Object tags as S3 keeps them, which s3rver does not: in S3 each write makes a new object whose
 * tags are those the request gave (`x-amz-tagging`), or for a copy the source's tags unless
 * `x-amz-tagging-directive: REPLACE`. s3rver leaves the old object's tags in place, so a file
 * dropped again would still say `zoho-status=done`.
 */
import { rename, writeFile } from 'node:fs/promises';
import type { S3rverStore, S3rverSubresource } from 's3rver';

export interface ObjectWrite {
  bucket: string;
  key: string;
  /** `ObjectCreated:Put`, `:Post`, `:Copy` or `:CompleteMultipartUpload`. */
  eventName: string;
  headers: Record<string, string | string[] | undefined>;
  /** For a completed multipart upload: the `x-amz-tagging` its CreateMultipartUpload carried. */
  multipartTagging?: string | undefined;
}

export async function applyWriteTags(store: S3rverStore, write: ObjectWrite): Promise<void> {
  const { bucket, key } = write;
  const tagging =
    write.eventName === 'ObjectCreated:CompleteMultipartUpload'
      ? write.multipartTagging
      : header(write.headers, 'x-amz-tagging');

  if (
    write.eventName === 'ObjectCreated:Copy' &&
    header(write.headers, 'x-amz-tagging-directive') !== 'REPLACE'
  ) {
    const source = copySource(header(write.headers, 'x-amz-copy-source'));
    const sourceTags = source ? await store.getSubresource(source.bucket, source.key, 'tagging') : null;
    if (sourceTags) await store.putSubresource(bucket, key, sourceTags);
    else await store.deleteSubresource(bucket, key, 'tagging');
    return;
  }

  const tags = [...new URLSearchParams(tagging ?? '')];
  if (tags.length === 0) await store.deleteSubresource(bucket, key, 'tagging');
  else await store.putSubresource(bucket, key, taggingResource(tags));
}

/** How many tags an object has. */
export async function tagCount(store: S3rverStore, bucket: string, key: string): Promise<number> {
  const tagging = await store.getSubresource(bucket, key, 'tagging');
  return tagging ? (tagging.toXML().match(/<Tag>/g) ?? []).length : 0;
}

export function taggingResource(tags: Array<[string, string]>): S3rverSubresource {
  const tagSet = tags
    .map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`)
    .join('');
  return { type: 'tagging', toXML: () => `<Tagging><TagSet>${tagSet}</TagSet></Tagging>` };
}

/** `x-amz-copy-source`: `bucket/key` or `/bucket/key`, URL-encoded, maybe `?versionId=…`. */
function copySource(value: string | undefined): { bucket: string; key: string } | undefined {
  if (!value) return undefined;
  const path = decodeURIComponent(value.split('?')[0] ?? '').replace(/^\//, '');
  const slash = path.indexOf('/');
  return slash > 0 ? { bucket: path.slice(0, slash), key: path.slice(slash + 1) } : undefined;
}

function header(headers: ObjectWrite['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (char) => `&#${char.charCodeAt(0)};`);
}

let temporaryFiles = 0;

/**
 * Makes s3rver write an object's subresources (its tags) to a new file renamed over the old one:
 * s3rver truncates the file, then writes it, so a kill -9 in between would leave tags that no
 * longer parse, and the object failing every read of its tags for good.
 */
export function writeSubresourcesWhole(store: S3rverStore): void {
  store.putSubresource = async (bucket, key, resource) => {
    const path = store.getResourcePath(bucket, key, `${resource.type}.xml`);
    // Not a name s3rver lists: its objects end in `._S3rver_object`.
    const temporary = `${path}.${process.pid}-${temporaryFiles++}.tmp`;
    await writeFile(temporary, resource.toXML(2));
    await rename(temporary, path);
  };
}
