/**
 * What a route handler gets: the request, its matched parameters and log entry, and the
 * sandbox's shared parts. Plus reading an upload's multipart body, shared by attachments,
 * photos and bulk files.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { Clock } from './clock.ts';
import type { Crm } from './crm.ts';
import { BODY_CAPTURE_BYTES } from './exchange.ts';
import type { FaultState } from './faults.ts';
import { headerValue, invalidData, type Reply, requiredParamMissing } from './http.ts';
import {
  discardSink,
  fileSink,
  MultipartError,
  memorySink,
  multipartParser,
  type PartSink,
  parseMultipart,
} from './multipart.ts';
import { bodyShapeRecorder } from './request-log.ts';

export type HostKind = 'accounts' | 'api' | 'upload' | 'download' | 'admin' | 'unknown';

export interface LoggedFile {
  field: string;
  fileName: string | undefined;
  size: number;
  sha256: string;
}

export interface RequestLogEntry {
  seq: number;
  time: string;
  method: string;
  /** Path with query (secrets in the query shown as a prefix). */
  path: string;
  host: HostKind;
  headers: Record<string, string>;
  query: Record<string, string>;
  /** HTTP status answered; 0 when the connection was cut without an answer. */
  status: number;
  /** The Zoho code of an error answer. */
  code?: string;
  bodyBytes: number;
  files: LoggedFile[];
  /** The names of the body's form fields (multipart parts, or URL-encoded keys), in order; no values. */
  form: string[];
  /** The key paths of a JSON body (`data[].Documents[].File_Id__s`), sorted; no values. */
  jsonKeys: string[];
  /** Why nothing was answered (an injected fault, the client going away). */
  outcome?: string;
}

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  /** API major version from the path (2..8), 8 where the path has none. */
  version: number;
  log: RequestLogEntry;
  /** Set once the request's upload is stored: `dropResponseAfterUpload` applies to it. */
  stored: boolean;
  /** The OAuth scopes the call needed (scopes.ts), once the token was checked. */
  scopes: string[];
  /** Where the body's first bytes are kept while it is read, when an observer wants them. */
  captured?: { chunks: Buffer[]; bytes: number };
}

export interface SandboxUrls {
  url: string;
  accountsUrl: string;
  apiUrl: string;
  uploadUrl: string;
}

export interface SandboxParts {
  clock: Clock;
  crm: Crm;
  faults: FaultState;
  nextId: () => string;
  tmpDir: string;
  urls: SandboxUrls;
  org: { id: string; zgid: string; companyName: string };
}

export type Handler = (ctx: RequestContext) => Promise<Reply>;

export interface Route {
  host: HostKind;
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

/** The request body, counted into the log as it is read (with the names a JSON or URL-encoded body holds). */
export async function* bodyOf(ctx: RequestContext): AsyncGenerator<Buffer> {
  const shape = bodyShapeRecorder(headerValue(ctx.req, 'content-type'));
  const { captured } = ctx;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    ctx.log.bodyBytes += chunk.length;
    shape?.add(chunk);
    if (captured && captured.bytes < BODY_CAPTURE_BYTES) {
      captured.chunks.push(chunk);
      captured.bytes += chunk.length;
    }
    yield chunk;
  }
  shape?.end(ctx.log);
}

/** Reads and discards what is left of a request body, so an early answer reaches the client. */
export async function drain(ctx: RequestContext): Promise<void> {
  const { req } = ctx;
  if (req.complete || req.destroyed) return;
  await new Promise<void>((resolve) => {
    req.on('data', (chunk: Buffer) => {
      ctx.log.bodyBytes += chunk.length;
    });
    req.on('end', resolve);
    req.on('close', resolve);
    req.on('error', () => resolve());
    req.resume();
  });
}

/** The connection was cut on purpose (a fault) or by the client: nothing is answered. */
export class ConnectionCut extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConnectionCut';
  }
}

export interface ReceivedFile {
  fileName: string;
  contentType: string | undefined;
  size: number;
  sha256: string;
  overLimit: boolean;
  /** Where the bytes are (disk mode). */
  path?: string;
  /** The bytes (memory mode, at most `maxBytes`). */
  data?: Buffer;
}

export interface ReceivedForm {
  file: ReceivedFile | undefined;
  fields: Record<string, string>;
  /** Deletes the stored file of a refused upload. */
  discard(): Promise<void>;
}

const FIELD_MAX_BYTES = 64 * 1024;

/**
 * Reads a multipart upload with one file part named `file`. Disk mode streams it to a temp file
 * while hashing; memory mode keeps at most `maxBytes` (+ counts the rest) for small capped files.
 */
export async function receiveForm(
  ctx: RequestContext,
  parts: SandboxParts,
  options: { maxBytes: number; mode: 'disk' | 'memory'; textFields?: string[] },
): Promise<ReceivedForm> {
  const parser = multipartParser(headerValue(ctx.req, 'content-type'));
  if (!parser) throw requiredParamMissing('file');
  if (parts.faults.takeResetDuringUpload()) await cutMidBody(ctx);

  const fields: Record<string, string> = {};
  let file: ReceivedFile | undefined;
  let disk: ReturnType<typeof fileSink> | undefined;
  const discard = async () => {
    await disk?.discard();
  };

  try {
    await parseMultipart(bodyOf(ctx), parser, (part): PartSink => {
      ctx.log.form.push(part.name);
      if (part.name === 'file' && part.fileName !== undefined && !file) {
        const received: ReceivedFile = {
          fileName: part.fileName,
          contentType: part.contentType,
          size: 0,
          sha256: '',
          overLimit: false,
        };
        file = received;
        let sink: PartSink & { result(): Omit<ReceivedFile, 'fileName' | 'contentType'> };
        if (options.mode === 'disk') {
          received.path = join(parts.tmpDir, `upload-${randomUUID()}`);
          disk = fileSink(received.path, options.maxBytes);
          sink = disk;
        } else {
          sink = memorySink(options.maxBytes);
        }
        return {
          write: (chunk) => sink.write(chunk),
          async end() {
            await sink.end();
            Object.assign(received, sink.result());
            ctx.log.files.push({
              field: part.name,
              fileName: received.fileName,
              size: received.size,
              sha256: received.sha256,
            });
          },
        };
      }
      if (options.textFields?.includes(part.name) && part.fileName === undefined && !(part.name in fields)) {
        const sink = memorySink(FIELD_MAX_BYTES);
        return {
          write: (chunk) => sink.write(chunk),
          async end() {
            await sink.end();
            fields[part.name] = sink.result().data.toString('utf8');
          },
        };
      }
      return discardSink();
    });
  } catch (error) {
    await discard();
    // The client went away: the stream may just end early, which reads like a truncated body.
    if (ctx.req.destroyed && !ctx.req.complete) {
      throw new ConnectionCut(`the upload did not arrive whole: ${(error as Error).message}`);
    }
    if (error instanceof MultipartError)
      throw invalidData(`the multipart body is malformed: ${error.message}`);
    throw error;
  }
  return { file, fields, discard };
}

/** Fault `resetDuringUpload`: take the first bytes of the body, then drop the connection. */
async function cutMidBody(ctx: RequestContext): Promise<never> {
  await new Promise<void>((resolve) => {
    ctx.req.once('data', (chunk: Buffer) => {
      ctx.log.bodyBytes += chunk.length;
      resolve();
    });
    ctx.req.once('end', resolve);
    ctx.req.once('close', resolve);
  });
  ctx.req.socket.destroy();
  throw new ConnectionCut('fault resetDuringUpload: connection reset mid-body');
}
