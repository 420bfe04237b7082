/**
 * The sandbox's log of requests, as a test or a person inspects it: method, path, headers and
 * query with every secret shown only as a prefix, the body's form field names and JSON key paths
 * (never their values), status and Zoho code answered. The newest 5,000.
 */
import type { IncomingMessage } from 'node:http';
import { zohoTime } from './clock.ts';
import type { HostKind, RequestLogEntry } from './context.ts';
import { redact } from './oauth.ts';

const REQUEST_LOG_MAX = 5000;
/** A JSON or URL-encoded body over this is counted, not read for its names. */
const BODY_SHAPE_MAX_BYTES = 1024 * 1024;
const SECRET_PARAMS = ['client_secret', 'refresh_token', 'code', 'access_token'];

export interface RequestLog {
  /** A new entry for this request, already in the log. */
  open(req: IncomingMessage, kind: HostKind, target: URL): RequestLogEntry;
  /** Copies of the entries, oldest first. */
  entries(): RequestLogEntry[];
}

export function createRequestLog(now: () => number): RequestLog {
  const log: RequestLogEntry[] = [];
  let sequence = 0;
  return {
    open(req, kind, target) {
      const query = new URLSearchParams(target.searchParams);
      for (const name of SECRET_PARAMS) {
        const value = query.get(name);
        if (value !== null) query.set(name, redact(value));
      }
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
        headers[name] = name === 'authorization' ? redactAuthorization(text) : text;
      }
      const search = query.toString();
      const entry: RequestLogEntry = {
        seq: ++sequence,
        time: zohoTime(now()),
        method: req.method ?? 'GET',
        path: `${target.pathname}${search ? `?${search}` : ''}`,
        host: kind,
        headers,
        query: Object.fromEntries(query),
        status: 0,
        bodyBytes: 0,
        files: [],
        form: [],
        jsonKeys: [],
      };
      log.push(entry);
      if (log.length > REQUEST_LOG_MAX) log.shift();
      return entry;
    },
    entries: () =>
      log.map((entry) => ({
        ...entry,
        files: [...entry.files],
        form: [...entry.form],
        jsonKeys: [...entry.jsonKeys],
      })),
  };
}

function redactAuthorization(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? redact(value) : `${value.slice(0, space)} ${redact(value.slice(space + 1))}`;
}

/**
 * Collects a JSON or URL-encoded body as it is read and logs its names at the end: the form's
 * field names, or the JSON's key paths. Undefined for multipart (its parts are logged by the form
 * reader, context.ts).
 */
export function bodyShapeRecorder(contentType: string | undefined) {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'multipart/form-data') return undefined;
  // Any other body is read as JSON if it parses: Zoho's TypeScript SDK 8.0 sends a record update's
  // JSON with no Content-Type (it sets one only for utils/util/constants.js SET_TO_CONTENT_TYPE paths).
  const kind = type === 'application/x-www-form-urlencoded' ? 'form' : 'json';
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    add(chunk: Buffer) {
      size += chunk.length;
      if (size <= BODY_SHAPE_MAX_BYTES) chunks.push(chunk);
    },
    end(entry: RequestLogEntry) {
      if (size > BODY_SHAPE_MAX_BYTES) return;
      const text = Buffer.concat(chunks).toString('utf8');
      if (kind === 'form') {
        entry.form.push(...new URLSearchParams(text).keys());
        return;
      }
      try {
        entry.jsonKeys = [...jsonKeyPaths(JSON.parse(text), '')].sort();
      } catch {
        // Not JSON: the handler answers that; the log has no keys to show.
      }
    },
  };
}

/** Every key path in a JSON value: `a`, `a.b`, and `a[].b` for the objects in an array. */
function jsonKeyPaths(value: unknown, prefix: string, paths = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) jsonKeyPaths(item, `${prefix}[]`, paths);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      const path = prefix ? `${prefix}.${key}` : key;
      paths.add(path);
      jsonKeyPaths(inner, path, paths);
    }
  }
  return paths;
}
