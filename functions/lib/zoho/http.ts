/**
 * One HTTP exchange with undici, and what a lost connection means. The body goes out as an async
 * iterable so we know exactly when the first byte left: undici writes the request head together
 * with the body's first chunk. Nothing handed over yet means nothing reached Zoho (safe to send
 * again); after that, a lost connection leaves a POST's outcome unknown. GETs are idempotent.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { ZohoDeadlineError, ZohoNetworkError, ZohoOutcomeUnknownError } from './errors.ts';
import { type Dispatcher, request, errors as undiciErrors } from './undici.ts';

/** A request body that can tell whether it may still be sent (again). */
export interface RequestBody {
  /** Exact size in bytes: sent as `Content-Length`. */
  length: number;
  contentType: string;
  /** The bytes for one attempt. */
  open(): AsyncIterable<Uint8Array>;
  /** False once a one-shot source has been read from. */
  canResend(): boolean;
  /** Frees the source when the call is over (a stream not read to its end is destroyed). */
  dispose(): void;
}

function bufferBody(bytes: Uint8Array, contentType: string): RequestBody {
  return {
    length: bytes.byteLength,
    contentType,
    async *open() {
      yield bytes;
    },
    canResend: () => true,
    dispose() {},
  };
}

export function jsonBody(value: unknown): RequestBody {
  return bufferBody(Buffer.from(JSON.stringify(value)), 'application/json');
}

export function formBody(fields: Record<string, string>): RequestBody {
  return bufferBody(Buffer.from(new URLSearchParams(fields).toString()), 'application/x-www-form-urlencoded');
}

export interface Outgoing {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody | undefined;
  signal?: AbortSignal | undefined;
}

export interface Incoming {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable & { text(): Promise<string>; dump(): Promise<void> };
}

/** The file's bytes did not match its announced size, or its stream failed: not Zoho's doing. */
export class BodySourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BodySourceError';
  }
}

/** Sends one request. Connection failures come back as Zoho errors that say whether Zoho may have it. */
export async function send(dispatcher: Dispatcher, outgoing: Outgoing): Promise<Incoming> {
  const { method, url, body, signal } = outgoing;
  const progress = { started: false, sourceError: undefined as unknown };
  const headers: Record<string, string> = { ...outgoing.headers };
  if (body) {
    headers['content-type'] = body.contentType;
    headers['content-length'] = String(body.length);
  }
  try {
    const response = await request(url, {
      dispatcher,
      method,
      headers,
      // undici documents AsyncIterable bodies; its typings only list Readable.
      body: body ? (tracked(body, progress) as unknown as Readable) : null,
      signal: signal ?? null,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    if (progress.sourceError !== undefined) throw progress.sourceError;
    throw lostConnection(error, { method, url, sent: progress.started, signal });
  }
}

/** Reads a whole (small, JSON) answer; a connection lost meanwhile is mapped like one lost before it. */
export async function readText(incoming: Incoming, outgoing: Outgoing): Promise<string> {
  try {
    return await incoming.body.text();
  } catch (error) {
    // Zoho answered an error status: it did not do it, whatever the rest of the answer said.
    const sent = outgoing.method !== 'GET' && incoming.status < 400;
    throw lostConnection(error, { ...outgoing, sent, signal: outgoing.signal });
  }
}

async function* tracked(
  body: RequestBody,
  progress: { started: boolean; sourceError: unknown },
): AsyncGenerator<Uint8Array> {
  let count = 0;
  try {
    for await (const chunk of body.open()) {
      count += chunk.byteLength;
      if (count > body.length) {
        throw new BodySourceError(
          `The request body gave more than the ${body.length} bytes announced: the file's stream does not match its size`,
        );
      }
      progress.started = true;
      yield chunk;
    }
  } catch (error) {
    progress.sourceError =
      error instanceof BodySourceError
        ? error
        : new BodySourceError('Reading the file failed', { cause: error });
    throw progress.sourceError;
  }
  if (count !== body.length) {
    progress.sourceError = new BodySourceError(
      `The request body gave ${count} bytes, ${body.length} were announced: the file's stream does not match its size`,
    );
    throw progress.sourceError;
  }
}

const NOT_NETWORK = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_RETURN_VALUE']);

function lostConnection(
  error: unknown,
  context: { method: string; url: string; sent: boolean; signal: AbortSignal | undefined },
): Error {
  const { method, sent, signal } = context;
  const where = `${method} ${safeUrl(context.url)}`;
  const idempotent = method === 'GET';
  if (signal?.aborted) {
    if (!idempotent && sent) {
      return new ZohoOutcomeUnknownError(
        `${where}: the deadline ran out after the request went out; Zoho may have done it`,
        { cause: error },
      );
    }
    return new ZohoDeadlineError(`${where}: the caller's deadline ran out`, { cause: error });
  }
  const code = errorCode(error);
  if (error instanceof undiciErrors.InvalidArgumentError || (code && NOT_NETWORK.has(code))) {
    return error as Error;
  }
  const what = code ?? (error instanceof Error ? error.message : String(error));
  if (idempotent) return new ZohoNetworkError(`${where}: connection failed (${what})`, { cause: error });
  if (!sent) {
    return new ZohoNetworkError(`${where}: connection failed before the request went out (${what})`, {
      cause: error,
    });
  }
  return new ZohoOutcomeUnknownError(
    `${where}: connection lost after the request went out (${what}); Zoho may have done it: look before sending again`,
    { cause: error },
  );
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const causeCode = (
    (error as { cause?: { code?: unknown } } | null)?.cause as { code?: unknown } | undefined
  )?.code;
  return typeof causeCode === 'string' ? causeCode : undefined;
}

/** The URL without its query string: enough to say where, never a parameter value. */
function safeUrl(url: string): string {
  const index = url.indexOf('?');
  return index < 0 ? url : url.slice(0, index);
}
