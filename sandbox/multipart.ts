/**
 * A streaming multipart/form-data reader (RFC 7578): it scans for the boundary chunk by chunk and
 * hands each part's bytes to a sink as they arrive, so a 100 MB file goes to disk (or is only
 * hashed) and never sits whole in memory. The whole body is always consumed, even when a sink
 * discards what it gets, so the answer reaches a client that is still sending.
 */
import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';

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

const MAX_HEADER_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

/** The boundary of a `multipart/form-data` content type, or undefined for any other type. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const { type, params } = parseHeaderParams(contentType);
  if (type.toLowerCase() !== 'multipart/form-data') return undefined;
  const boundary = params.boundary;
  return boundary && boundary.length <= 200 ? boundary : undefined;
}

export async function parseMultipart(
  source: AsyncIterable<Buffer>,
  boundary: string,
  onPart: (part: PartInfo) => PartSink | Promise<PartSink>,
): Promise<void> {
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first boundary, at the very start of the body, match the delimiter.
  let buffer: Buffer = Buffer.from(CRLF);
  // Moved by `step`, so the declared union is kept (`as`) rather than narrowed here.
  let state = 'preamble' as 'preamble' | 'afterDelimiter' | 'headers' | 'body' | 'done';
  let sink: PartSink | undefined;

  const step = async (): Promise<void> => {
    for (;;) {
      if (state === 'preamble') {
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length + 1));
          return;
        }
        buffer = buffer.subarray(at + delimiter.length);
        state = 'afterDelimiter';
      } else if (state === 'afterDelimiter') {
        if (buffer.length < 2) return;
        if (buffer[0] === 0x2d && buffer[1] === 0x2d) {
          state = 'done';
          buffer = Buffer.alloc(0);
          return;
        }
        const eol = buffer.indexOf(CRLF);
        if (eol < 0) {
          if (buffer.length > 1024) throw new MultipartError('a boundary line is not followed by CRLF');
          return;
        }
        // RFC 2046 allows transport padding (spaces, tabs) between the boundary and its CRLF.
        if (!/^[ \t]*$/.test(buffer.subarray(0, eol).toString('latin1'))) {
          throw new MultipartError('a boundary line holds more than the boundary');
        }
        buffer = buffer.subarray(eol + 2);
        state = 'headers';
      } else if (state === 'headers') {
        const empty = buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a;
        const end = empty ? -2 : buffer.indexOf(HEADER_END);
        if (end === -1) {
          if (buffer.length > MAX_HEADER_BYTES)
            throw new MultipartError('a part has more than 16 KB of headers');
          return;
        }
        const info = parsePartHeaders(empty ? '' : buffer.subarray(0, end).toString('utf8'));
        buffer = buffer.subarray(end + 4);
        sink = await onPart(info);
        state = 'body';
      } else if (state === 'body') {
        const current = sink as PartSink;
        const at = buffer.indexOf(delimiter);
        if (at < 0) {
          // Keep what could be the start of a delimiter split across chunks.
          const safe = buffer.length - delimiter.length + 1;
          if (safe > 0) {
            await current.write(buffer.subarray(0, safe));
            buffer = buffer.subarray(safe);
          }
          return;
        }
        if (at > 0) await current.write(buffer.subarray(0, at));
        await current.end();
        sink = undefined;
        buffer = buffer.subarray(at + delimiter.length);
        state = 'afterDelimiter';
      } else {
        return;
      }
    }
  };

  // Leaving the loop early would destroy the request and lose the answer: after a failure the rest
  // of the body is read and dropped, then the failure is thrown.
  let failure: unknown;
  for await (const chunk of source) {
    if (state === 'done' || failure !== undefined) continue; // the epilogue is read and ignored
    buffer = buffer.length > 0 ? Buffer.concat([buffer, chunk]) : chunk;
    try {
      await step();
    } catch (error) {
      failure = error;
    }
  }
  if (failure !== undefined) throw failure;
  if (state !== 'done') throw new MultipartError('the body ends before the closing boundary');
}

function parsePartHeaders(text: string): PartInfo {
  const headers = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get('content-disposition');
  if (!disposition) throw new MultipartError('a part has no Content-Disposition');
  const { type, params } = parseHeaderParams(disposition);
  if (type.toLowerCase() !== 'form-data' || params.name === undefined) {
    throw new MultipartError('a part is not form-data with a name');
  }
  const info: PartInfo = { name: params.name };
  const fileName = params['filename*'] !== undefined ? decodeExtValue(params['filename*']) : params.filename;
  if (fileName !== undefined) info.fileName = unescapeFormName(fileName);
  const contentType = headers.get('content-type');
  if (contentType) info.contentType = contentType;
  return info;
}

/** `type; a=b; c="d \"e\""` → type and parameters (names lower-cased, quoted strings unescaped). */
export function parseHeaderParams(value: string): { type: string; params: Record<string, string> } {
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim();
  const params: Record<string, string> = {};
  let at = semicolon < 0 ? value.length : semicolon + 1;
  while (at < value.length) {
    const eq = value.indexOf('=', at);
    if (eq < 0) break;
    const name = value.slice(at, eq).trim().toLowerCase();
    at = eq + 1;
    while (value[at] === ' ' || value[at] === '\t') at += 1;
    let paramValue = '';
    if (value[at] === '"') {
      at += 1;
      while (at < value.length && value[at] !== '"') {
        if (value[at] === '\\' && at + 1 < value.length) at += 1;
        paramValue += value[at];
        at += 1;
      }
      const next = value.indexOf(';', at);
      at = next < 0 ? value.length : next + 1;
    } else {
      const next = value.indexOf(';', at);
      paramValue = (next < 0 ? value.slice(at) : value.slice(at, next)).trim();
      at = next < 0 ? value.length : next + 1;
    }
    if (name && !(name in params)) params[name] = paramValue;
  }
  return { type, params };
}

/** RFC 5987 `charset'language'pct-encoded`; UTF-8 and ISO-8859-1 are the charsets it names. */
function decodeExtValue(value: string): string {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (!match) throw new MultipartError('filename* is not an RFC 5987 value');
  const charset = (match[1] ?? '').toLowerCase();
  const bytes: number[] = [];
  const encoded = match[2] ?? '';
  for (let i = 0; i < encoded.length; i += 1) {
    if (encoded[i] === '%' && /^[0-9a-fA-F]{2}$/.test(encoded.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(encoded.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(encoded.charCodeAt(i) & 0xff);
    }
  }
  if (charset === 'utf-8') return new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(bytes));
  if (charset === 'iso-8859-1') return Buffer.from(bytes).toString('latin1');
  throw new MultipartError(`filename* uses an unsupported charset: ${charset}`);
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
