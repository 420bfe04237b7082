/**
 * What every handler speaks: replies, Zoho's flat error envelope, and reading request bodies
 * without holding more than a small, capped amount in memory.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';

export interface Reply {
  status: number;
  /** JSON body; absent with `raw`/`stream`, or for 204. */
  body?: unknown;
  raw?: Buffer;
  stream?: () => Readable;
  headers?: Record<string, string | number>;
}

/** Zoho's flat error envelope: `{"code","details","message","status":"error"}` (zoho-api.md, Attachments). */
export interface ZohoErrorBody {
  code: string;
  details: Record<string, unknown>;
  message: string;
  status: 'error';
}

/** A Zoho error answer, thrown by handlers and turned into a reply by the dispatcher. */
export class ZohoFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'ZohoFailure';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  get body(): ZohoErrorBody {
    return { code: this.code, details: this.details, message: this.message, status: 'error' };
  }
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply =>
  headers ? { status, body, headers } : { status, body };

export const noContent = (): Reply => ({ status: 204 });

// The errors Zoho documents for every endpoint, with the messages of seeds 001/003/004.
export const invalidUrl = () =>
  new ZohoFailure(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
/** Seeds 001/003/004 document a wrong method as 400 INVALID_REQUEST_METHOD, not 405. */
export const invalidMethod = () =>
  new ZohoFailure(400, 'INVALID_REQUEST_METHOD', 'The http request method type is not a valid one');
/**
 * crm-oas v8.0 attachments.json and record_photo.json `InvalidUrlError`: the path segment at fault
 * (`resource_path_index`, the module: 0) and `related_status`.
 */
export const invalidModule = (message = 'the module name given seems to be invalid') =>
  new ZohoFailure(400, 'INVALID_MODULE', message, { resource_path_index: 0, related_status: 'invalid' });
export const invalidRecordId = (id: string) =>
  new ZohoFailure(400, 'INVALID_DATA', 'the related id given seems to be invalid', { id });
/** crm-oas v8.0 common.json `MandatoryParamError`: its `ParamDetails` name the parameter twice. */
export const requiredParamMissing = (param: string) =>
  new ZohoFailure(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', {
    param_name: param,
    param,
  });
/** crm-oas v8.0 module_search.json, `Mandatory_Param_Missing`: one of several parameters is needed. */
export const expectedParamMissing = (params: string[]) =>
  new ZohoFailure(400, 'EXPECTED_PARAM_MISSING', 'One of the expected parameter is missing', {
    param_names: params,
  });
export const invalidData = (message: string, details: Record<string, unknown> = {}, status = 400) =>
  new ZohoFailure(status, 'INVALID_DATA', message, details);
export const internalError = () => new ZohoFailure(500, 'INTERNAL_ERROR', 'Internal Server Error');

/** Reads a small body whole; a body over `maxBytes` is read to its end and refused. */
export async function readSmallBody(body: AsyncIterable<Buffer>, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw invalidData(`the request body is larger than ${maxBytes} bytes`);
  return Buffer.concat(chunks);
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** `Content-Disposition` for a download: an ASCII fallback plus the exact name as RFC 5987 `filename*`. */
export function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
