/**
 * The sandbox's log of requests, as a test or a person inspects it: method, path, headers and
 * query with every secret shown only as a prefix, status and Zoho code answered. The newest 5,000.
 */
import type { IncomingMessage } from 'node:http';
import { zohoTime } from './clock.ts';
import type { HostKind, RequestLogEntry } from './context.ts';
import { redact } from './oauth.ts';

const REQUEST_LOG_MAX = 5000;
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
      };
      log.push(entry);
      if (log.length > REQUEST_LOG_MAX) log.shift();
      return entry;
    },
    entries: () => log.map((entry) => ({ ...entry, files: [...entry.files] })),
  };
}

function redactAuthorization(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? redact(value) : `${value.slice(0, space)} ${redact(value.slice(space + 1))}`;
}
