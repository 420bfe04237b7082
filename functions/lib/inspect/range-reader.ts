/**
 * Random access to an object without loading it: the checks read only the ranges they need,
 * from S3 (ranged GetObject) or from a Buffer in tests.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** Reads [start, end) of an object; the S3 implementation does a ranged GetObject. */
export interface RangeReader {
  size: number;
  read(start: number, end: number): Promise<Buffer>;
  stream(start?: number, end?: number): Promise<Readable>;
}

function checkRange(size: number, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > size) {
    throw new RangeError(`range [${start}, ${end}) is outside the object's ${size} bytes`);
  }
}

export function bufferRangeReader(buf: Buffer): RangeReader {
  const size = buf.length;
  return {
    size,
    async read(start, end) {
      checkRange(size, start, end);
      return buf.subarray(start, end);
    },
    async stream(start = 0, end = size) {
      checkRange(size, start, end);
      return Readable.from([buf.subarray(start, end)], { objectMode: false });
    },
  };
}

/**
 * `size` is the object's ContentLength from the event or a HeadObject; `versionId` pins the reads
 * to the version the event named, so an overwrite in between cannot mix two files.
 */
export function s3RangeReader(
  s3: S3Client,
  bucket: string,
  key: string,
  size: number,
  versionId?: string,
): RangeReader {
  async function getRange(start: number, end: number): Promise<Readable> {
    const output = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: key,
        Range: `bytes=${start}-${end - 1}`,
        ...(versionId === undefined ? {} : { VersionId: versionId }),
      }),
    );
    if (!(output.Body instanceof Readable)) {
      throw new Error(`GetObject s3://${bucket}/${key} returned no readable body`);
    }
    return output.Body;
  }

  return {
    size,
    async read(start, end) {
      checkRange(size, start, end);
      if (start === end) return Buffer.alloc(0);
      const chunks: Buffer[] = await (await getRange(start, end)).toArray();
      const bytes = Buffer.concat(chunks);
      if (bytes.length !== end - start) {
        throw new Error(
          `GetObject s3://${bucket}/${key} bytes=${start}-${end - 1} returned ${bytes.length} bytes, expected ${end - start}`,
        );
      }
      return bytes;
    },
    async stream(start = 0, end = size) {
      checkRange(size, start, end);
      if (start === end) return Readable.from([], { objectMode: false });
      return getRange(start, end);
    },
  };
}

/** A file on local disk (e.g. a result ZIP downloaded to /tmp), read by ranges. */
export function fileRangeReader(path: string, size: number): RangeReader {
  return {
    size,
    async read(start, end) {
      checkRange(size, start, end);
      const handle = await open(path, 'r');
      try {
        const bytes = Buffer.alloc(end - start);
        const { bytesRead } = await handle.read(bytes, 0, end - start, start);
        return bytes.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    },
    async stream(start = 0, end = size) {
      checkRange(size, start, end);
      if (start === end) return Readable.from([], { objectMode: false });
      return createReadStream(path, { start, end: end - 1 });
    },
  };
}
