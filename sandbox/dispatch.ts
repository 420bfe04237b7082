/**
 * From an HTTP request to a route's answer, as Zoho's hosts behave around every call: the host
 * told apart by the path prefix, the org's concurrency limit (429), injected faults and latency,
 * the access token checked, Zoho's error envelope for any failure, and the answer written.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConnectionCut,
  drain,
  type HostKind,
  type RequestContext,
  type RequestLogEntry,
  type Route,
} from './context.ts';
import { type Exchange, exchangesObserved, reportExchange } from './exchange.ts';
import type { FaultState } from './faults.ts';
import {
  headerValue,
  internalError,
  invalidMethod,
  invalidUrl,
  json,
  type Reply,
  ZohoFailure,
} from './http.ts';
import type { createOAuthServer } from './oauth.ts';
import type { RequestLog } from './request-log.ts';
import { missingScope, scopesFor } from './scopes.ts';

const AUTH_MESSAGES = {
  INVALID_TOKEN: 'invalid oauth token',
  AUTHENTICATION_FAILURE: 'Authentication failed',
};
const HOST_PREFIXES: Array<[string, HostKind]> = [
  ['/accounts', 'accounts'],
  ['/api', 'api'],
  ['/content', 'upload'],
  ['/download', 'download'],
  ['/__sandbox', 'admin'],
];

export interface DispatchParts {
  routes: Route[];
  faults: FaultState;
  oauth: ReturnType<typeof createOAuthServer>;
  requestLog: RequestLog;
  concurrencyLimit: number;
  /** Brings time-driven state (bulk jobs) up to the clock before a request is handled. */
  settle(): void;
  /** Keeps the state on disk before an answer goes out (persist.ts), when the sandbox has a state folder. */
  save?: (() => Promise<void>) | undefined;
  admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
}

export function createDispatcher(parts: DispatchParts) {
  const { faults, requestLog } = parts;
  const load = { inFlight: 0, peak: 0 };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { target, kind, path } = hostOf(req);
    if (kind === 'admin') return parts.admin(req, res, path);
    parts.settle();

    const entry = requestLog.open(req, kind, target);
    const counted = kind === 'api' || kind === 'upload';
    if (counted) {
      load.inFlight += 1;
      load.peak = Math.max(load.peak, load.inFlight);
    }
    res.once('close', () => {
      if (counted) load.inFlight -= 1;
      entry.status = res.headersSent ? res.statusCode : 0;
    });
    const observed = exchangesObserved();
    const ctx = requestContext(req, target, path, entry, observed);

    const reply = await replyOrCut(ctx, () => route(ctx, kind, counted));
    if (!reply) return;
    if (ctx.stored && faults.takeDropResponseAfterUpload()) {
      entry.outcome = 'fault dropResponseAfterUpload: stored, connection dropped without an answer';
      req.socket.destroy();
      return;
    }
    const code = errorCodeOf(reply);
    if (code !== undefined) entry.code = code;
    await parts.save?.();
    if (observed) reportExchange(exchangeOf(ctx, kind, reply));
    await send(res, reply);
  }

  async function route(ctx: RequestContext, kind: HostKind, counted: boolean): Promise<Reply> {
    // Over the org's concurrency limit: 429 with no Retry-After (zoho-api.md, Limits).
    if (counted && load.inFlight > parts.concurrencyLimit) {
      throw new ZohoFailure(
        429,
        'TOO_MANY_REQUESTS',
        'Too many concurrent requests. Please try again after some time.',
      );
    }
    if (kind === 'api' || kind === 'upload' || kind === 'download') await injectFaults(faults, ctx);
    const found = findRoute(parts.routes, kind, ctx.path);
    if (!found) throw invalidUrl();
    const handler = found.route.methods[ctx.method];
    if (!handler) throw invalidMethod();
    ctx.params = found.params;
    ctx.version = Number.parseInt((found.params.v ?? 'v8').slice(1), 10);
    if (kind !== 'accounts') {
      const refused = await authorize(parts.oauth, ctx, kind);
      if (refused) return refused;
    }
    return handler(ctx);
  }

  return { handle, concurrency: () => ({ limit: parts.concurrencyLimit, ...load }) };
}

/** Which of Zoho's hosts the request is for (by path prefix), and its path on that host. */
function hostOf(req: IncomingMessage): { target: URL; kind: HostKind; path: string } {
  const target = new URL(req.url ?? '/', 'http://sandbox');
  const [prefix, kind] = HOST_PREFIXES.find(
    ([p]) => target.pathname === p || target.pathname.startsWith(`${p}/`),
  ) ?? ['', 'unknown' as HostKind];
  return { target, kind, path: target.pathname.slice(prefix.length) };
}

function requestContext(
  req: IncomingMessage,
  target: URL,
  path: string,
  log: RequestLogEntry,
  observed: boolean,
): RequestContext {
  const ctx: RequestContext = {
    req,
    method: req.method ?? 'GET',
    path,
    query: target.searchParams,
    params: {},
    version: 8,
    log,
    stored: false,
    scopes: [],
  };
  if (observed && !headerValue(req, 'content-type')?.toLowerCase().startsWith('multipart/')) {
    ctx.captured = { chunks: [], bytes: 0 };
  }
  return ctx;
}

/**
 * The route's reply, or Zoho's error envelope for what it threw (its body drained first);
 * undefined when the route cut the connection (the socket is destroyed, nothing is answered).
 */
async function replyOrCut(ctx: RequestContext, route: () => Promise<Reply>): Promise<Reply | undefined> {
  try {
    return await route();
  } catch (error) {
    if (error instanceof ConnectionCut) {
      ctx.log.outcome = error.message;
      ctx.req.socket.destroy();
      return undefined;
    }
    const failure = error instanceof ZohoFailure ? error : internalError();
    if (!(error instanceof ZohoFailure)) ctx.log.outcome = `handler error: ${(error as Error).message}`;
    await drain(ctx);
    return json(failure.status, failure.body);
  }
}

/** Zoho's error code, whichever envelope carries it (token errors use `error`); none for a success. */
function errorCodeOf(reply: Reply): string | undefined {
  const body = reply.body as { code?: unknown; ERROR_CODE?: unknown; error?: unknown } | undefined;
  const code = body?.code ?? body?.ERROR_CODE ?? body?.error;
  return typeof code === 'string' && code !== 'SUCCESS' && code !== 'FILE_UPLOAD_SUCCESS' ? code : undefined;
}

/** The injected latency, then an injected failure for this path if one is set. */
async function injectFaults(faults: FaultState, ctx: RequestContext): Promise<void> {
  const { latencyMs } = faults.current();
  if (latencyMs > 0) await sleep(latencyMs);
  const injected = faults.failureFor(ctx.log.path);
  if (injected) {
    ctx.log.outcome = 'fault injected';
    throw new ZohoFailure(injected.status, injected.code, injected.message);
  }
}

/**
 * The access token and the scopes the call needs, checked: a refusal the upload host answers in
 * its own envelope is returned, any other is thrown; undefined when the call may go on.
 */
async function authorize(
  oauth: DispatchParts['oauth'],
  ctx: RequestContext,
  kind: HostKind,
): Promise<Reply | undefined> {
  const auth = oauth.authenticate(ctx.req.headers.authorization);
  if (!auth.ok && kind === 'upload') {
    // The file host answers in its own envelope, ERROR_CODE a number (sandbox/README.md).
    await drain(ctx);
    return json(401, { ERROR_CODE: 401, ERROR_MESSAGE: AUTH_MESSAGES[auth.code] });
  }
  if (!auth.ok) throw new ZohoFailure(401, auth.code, AUTH_MESSAGES[auth.code]);
  ctx.scopes = scopesFor(kind, ctx);
  const missing = missingScope(ctx.scopes, auth.scopes);
  if (missing) {
    throw new ZohoFailure(401, 'OAUTH_SCOPE_MISMATCH', 'invalid oauth scope to access this URL', {
      scope: missing,
    });
  }
  return undefined;
}

/** The request and its answer, for the exchange observers. */
function exchangeOf(ctx: RequestContext, kind: HostKind, reply: Reply): Exchange {
  return {
    host: kind,
    method: ctx.method,
    path: ctx.path,
    query: ctx.query,
    headers: ctx.req.headers,
    body: ctx.captured && ctx.captured.bytes > 0 ? Buffer.concat(ctx.captured.chunks) : undefined,
    // The log's form names: a multipart body's parts (a URL-encoded body's keys are in `body`).
    formFields: ctx.captured ? [] : ctx.log.form,
    scopes: ctx.scopes,
    status: reply.status,
    responseHeaders: reply.headers ?? {},
    responseJson: reply.body,
    binary: reply.body === undefined && (reply.raw !== undefined || reply.stream !== undefined),
  };
}

function findRoute(
  routes: Route[],
  kind: HostKind,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  for (const candidate of routes) {
    if (candidate.host !== kind) continue;
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    try {
      const params = Object.fromEntries(
        Object.entries(match.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v ?? '')]),
      );
      return { route: candidate, params };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Writes a reply: a stream, raw bytes, or JSON with its Content-Length. */
export async function send(res: ServerResponse, reply: Reply): Promise<void> {
  if (res.destroyed) return;
  const headers: Record<string, string | number> = { ...reply.headers };
  if (reply.stream) {
    res.writeHead(reply.status, headers);
    await pipeline(reply.stream(), res).catch(() => res.destroy());
    return;
  }
  let payload: Buffer | undefined = reply.raw;
  if (!payload && reply.body !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.body));
    headers['Content-Type'] = 'application/json;charset=UTF-8';
  }
  if (payload) headers['Content-Length'] = payload.length;
  res.writeHead(reply.status, headers);
  res.end(payload);
}
