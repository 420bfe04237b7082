/**
 * Reading multipart/form-data uploads (RFC 7578) with busboy, the field's parser: each part's
 * bytes go to a sink as they arrive, so a 100 MB file goes to disk (or is only hashed) and never
 * sits whole in memory. The whole body is always consumed, even after a malformed part or when a
 * sink discards what it gets, so the answer reaches a client that is still sending.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import busboy, { type Busboy } from 'busboy';

export interface PartInfo {
  name: string;
  /** Decoded: RFC 5987 `filename*` wins over `filename`. */
  fileName?: string;
  contentType?: string;
}

export interface PartSink {
  write(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

/** A parser for a `multipart/form-data` body with a boundary, or undefined for any other type. */
export function multipartParser(contentType: string | undefined): Busboy | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  try {
    return busboy({
      headers: { 'content-type': contentType },
      // The file name as sent, folders and all (busboy keeps only the last segment by default).
      preservePath: true,
      // A plain filename="…" is UTF-8, as undici and browsers send it (busboy's default is latin1).
      defParamCharset: 'utf8',
    });
  } catch {
    return undefined; // no boundary
  }
}

/** Feeds the body to the parser and each part to the sink `onPart` gives; throws MultipartError for a malformed body. */
export async function parseMultipart(
  source: AsyncIterable<Buffer>,
  parser: Busboy,
  onPart: (part: PartInfo) => PartSink | Promise<PartSink>,
): Promise<void> {
  const parts: Promise<void>[] = [];
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  const take = (name: string | undefined, info: Omit<PartInfo, 'name'>, stream: Readable) => {
    if (name === undefined) {
      stream.resume();
      fail(new MultipartError('a part is not form-data with a name'));
      return;
    }
    parts.push(readPart({ name, ...info }, stream, onPart).catch(fail));
  };
  parser.on('file', (name, stream, { filename, mimeType }) =>
    take(
      name,
      { ...(filename === undefined ? {} : { fileName: unescapeFormName(filename) }), contentType: mimeType },
      stream,
    ),
  );
  parser.on('field', (name, value) => take(name, {}, Readable.from([Buffer.from(value, 'utf8')])));
  const closed = new Promise<void>((resolve) => {
    parser.on('error', (error: Error) => {
      fail(new MultipartError(error.message));
      resolve();
    });
    parser.on('close', resolve);
  });

  for await (const chunk of source) {
    if (failure !== undefined) continue; // the rest is read and dropped
    if (!parser.write(chunk)) await Promise.race([once(parser, 'drain').catch(() => undefined), closed]);
  }
  if (failure === undefined) parser.end();
  else parser.destroy();
  await closed;
  await Promise.all(parts);
  if (failure !== undefined) throw failure;
}

/** One part's bytes to its sink. A failing sink leaves the part to be read and dropped, so the parser goes on. */
async function readPart(
  info: PartInfo,
  stream: Readable,
  onPart: (part: PartInfo) => PartSink | Promise<PartSink>,
): Promise<void> {
  let broken: Error | undefined;
  stream.on('error', (error) => {
    broken = error;
  });
  try {
    const sink = await onPart(info);
    for await (const chunk of stream) await sink.write(chunk as Buffer);
    await sink.end();
  } catch (error) {
    stream.resume();
    throw broken !== undefined && error === broken ? new MultipartError(broken.message) : error;
  }
}

/** Browsers and undici percent-escape `"`, CR and LF inside a quoted form-data file name (WHATWG). */
function unescapeFormName(name: string): string {
  return name.replace(/%22/g, '"').replace(/%0D/gi, '\r').replace(/%0A/gi, '\n');
}

/** What a sink received: every byte is counted and hashed, only the first `maxBytes` are kept. */
export interface Received {
  size: number;
  sha256: string;
  /** More than `maxBytes` arrived: what was kept is incomplete. */
  overLimit: boolean;
}

interface Counting {
  hash: Hash;
  size: number;
}

/** Keeps up to `maxBytes` in memory (small, capped bodies: photos, form fields). */
export function memorySink(maxBytes: number): PartSink & { result(): Received & { data: Buffer } } {
  const chunks: Buffer[] = [];
  let kept = 0;
  const count: Counting = { hash: createHash('sha256'), size: 0 };
  let sha256 = '';
  return {
    write(chunk) {
      count.hash.update(chunk);
      count.size += chunk.length;
      if (kept < maxBytes) {
        const part = chunk.subarray(0, maxBytes - kept);
        chunks.push(part);
        kept += part.length;
      }
    },
    end() {
      sha256 = count.hash.digest('hex');
    },
    result: () => ({
      data: Buffer.concat(chunks),
      size: count.size,
      sha256,
      overLimit: count.size > maxBytes,
    }),
  };
}

/** Streams to `path` while hashing; past `maxBytes` it stops writing and only counts. */
export function fileSink(
  path: string,
  maxBytes: number,
): PartSink & { result(): Received; discard(): Promise<void> } {
  const count: Counting = { hash: createHash('sha256'), size: 0 };
  let out: WriteStream | undefined = createWriteStream(path);
  let failure: Error | undefined;
  out.on('error', (error) => {
    failure = error;
  });
  let sha256 = '';
  return {
    async write(chunk) {
      count.hash.update(chunk);
      count.size += chunk.length;
      if (failure) throw failure;
      if (!out) return;
      if (count.size > maxBytes) {
        // Over the limit: the file is refused anyway, so stop filling the disk.
        out.destroy();
        out = undefined;
        return;
      }
      if (!out.write(chunk)) await once(out, 'drain');
    },
    async end() {
      sha256 = count.hash.digest('hex');
      if (!out) return;
      out.end();
      await once(out, 'finish');
      if (failure) throw failure;
    },
    result: () => ({ size: count.size, sha256, overLimit: count.size > maxBytes }),
    async discard() {
      out?.destroy();
      out = undefined;
      await rm(path, { force: true });
    },
  };
}

/** Counts and forgets (parts nobody asked for). */
export function discardSink(): PartSink {
  return { write() {}, end() {} };
}
