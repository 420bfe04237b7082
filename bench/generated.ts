/**
 * A file made on the fly, 64 KiB at a time, never held whole: the same bytes every time for a
 * given size, so its sha256 can be known before it is sent.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

const CHUNK_BYTES = 64 * 1024;

export function generatedStream(size: number): Readable {
  let produced = 0;
  let block = 0;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, size - produced), block % 251);
      if (chunk.length >= 4) chunk.writeUInt32BE(block);
      produced += chunk.length;
      block += 1;
      this.push(chunk);
    },
  });
}

export async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
