/**
 * A local Zoho CRM that speaks Zoho's documented contract (zoho-api.md): OAuth, attachments,
 * photos, bulk write, search, org. One port, hosts told apart by path: `/accounts` (tokens),
 * `/api` (CRM API), `/content` (bulk ZIP uploads), `/download` (bulk results), `/__sandbox`
 * (admin for out-of-process users). See sandbox/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { attachmentRoutes } from './attachments.ts';
import { bulkRoutes } from './bulk.ts';
import { createClock, createIdGenerator, zohoTime } from './clock.ts';
import {
  bodyOf,
  ConnectionCut,
  drain,
  type HostKind,
  type RequestContext,
  type RequestLogEntry,
  type Route,
  type SandboxParts,
} from './context.ts';
import { createCrm } from './crm.ts';
import { createFaultState, type FailNext, type Faults, type UploadErrorStyle } from './faults.ts';
import {
  internalError,
  invalidMethod,
  invalidUrl,
  json,
  type Reply,
  readSmallBody,
  ZohoFailure,
} from './http.ts';
import { type Credentials, createOAuthServer, type OAuthSnapshot, redact } from './oauth.ts';
import { photoRoutes } from './photo.ts';
import { searchRoutes } from './search.ts';

export type { Credentials, FailNext, Faults, RequestLogEntry, UploadErrorStyle };

export interface SandboxOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Attachment size limit; default 100 MB (zoho-api.md ⚠: the legacy API said 20 MB). */
  attachmentMaxBytes?: number;
  /** Calls in flight at once on the API and upload hosts before 429; default 10 (Standard edition). */
  concurrencyLimit?: number;
  /** Access token lifetime; default 3600. */
  tokenTtlSeconds?: number;
  /** How long a bulk job stays ADDED, then IN PROGRESS; default 300 ms. */
  bulkJobStepMs?: number;
  /** Working credentials; default generated, obviously fake `sandbox-…` values. */
  credentials?: Credentials;
  /** ⚠ How the upload host answers its errors; default `flat-200` (zoho-api.md). */
  uploadErrorStyle?: UploadErrorStyle;
  /** ⚠ `expires_in` in milliseconds plus `expires_in_sec`; default false. */
  tokenExpiresInMs?: boolean;
  /** ⚠ v8 search: `equals` on text fields matches like "contains"; default true. */
  searchEqualsContains?: boolean;
}

export interface SandboxSnapshot {
  url: string;
  now: string;
  org: { id: string; zgid: string; company_name: string };
  seed: Record<string, string[]>;
  records: Record<string, Array<Record<string, unknown>>>;
  attachments: ReturnType<ReturnType<typeof attachmentRoutes>['snapshot']>;
  photos: ReturnType<ReturnType<typeof photoRoutes>['snapshot']>;
  bulkFiles: ReturnType<ReturnType<typeof bulkRoutes>['snapshot']>['files'];
  bulkJobs: ReturnType<ReturnType<typeof bulkRoutes>['snapshot']>['jobs'];
  tokens: OAuthSnapshot;
  faults: Record<string, unknown>;
  concurrency: { limit: number; inFlight: number; peak: number };
  requests: RequestLogEntry[];
}

export interface Sandbox {
  url: string;
  accountsUrl: string;
  apiUrl: string;
  uploadUrl: string;
  credentials: Credentials;
  clock: { now(): number; advance(ms: number): void };
  faults: { set(f: Partial<Faults>): void; reset(): void };
  inspect(): SandboxSnapshot;
  /** Seeded record ids per module (3 each), plus `locked`: a Lead whose photo Zoho refuses (RECORD_LOCKED). */
  seed: Record<string, string[]>;
  createRecord(module: string, fields: Record<string, unknown>): string;
  /** A Self Client grant code: single use, valid 3 minutes, exchanged with grant_type=authorization_code. */
  issueGrantCode(): string;
  close(): Promise<void>;
}

const REQUEST_LOG_MAX = 5000;
const SECRET_PARAMS = ['client_secret', 'refresh_token', 'code', 'access_token'];
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

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const concurrencyLimit = options.concurrencyLimit ?? 10;
  const credentials = options.credentials ?? {
    clientId: 'sandbox-client-id',
    clientSecret: `sandbox-secret-${randomBytes(16).toString('hex')}`,
    refreshToken: `sandbox-rt-${randomBytes(16).toString('hex')}`,
  };
  const tmpDir = await mkdtemp(join(tmpdir(), 'zoho-sandbox-'));
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  const urls = { url, accountsUrl: `${url}/accounts`, apiUrl: `${url}/api`, uploadUrl: `${url}/content` };

  let settle = () => {};
  const clock = createClock(() => settle());
  const nextId = createIdGenerator(5725767000001000001n);
  const crm = createCrm({ clock, nextId });
  const faults = createFaultState({
    tokenExpiresInMs: options.tokenExpiresInMs ?? false,
    uploadErrorStyle: options.uploadErrorStyle ?? 'flat-200',
  });
  const org = { id: '5725767000000000001', zgid: '57257670', companyName: 'Sandbox Org' };
  const parts: SandboxParts = { clock, crm, faults, nextId, tmpDir, urls, org };
  const oauth = createOAuthServer({
    clock,
    credentials,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    apiUrl: urls.apiUrl,
  });
  const attachments = attachmentRoutes(parts, { maxBytes: options.attachmentMaxBytes ?? 100 * 1024 * 1024 });
  const photos = photoRoutes(parts);
  const bulk = bulkRoutes(parts, { stepMs: options.bulkJobStepMs ?? 300 });
  settle = () => bulk.settle();

  const routes: Route[] = [
    {
      host: 'accounts',
      pattern: /^\/oauth\/v2\/token$/,
      methods: {
        async POST(ctx) {
          const params = new URLSearchParams(ctx.query);
          const form = new URLSearchParams((await readSmallBody(bodyOf(ctx), 64 * 1024)).toString('utf8'));
          for (const [name, value] of form) params.set(name, value);
          // Token errors come back with HTTP 200 too (zoho-api.md, OAuth).
          return json(200, oauth.token(params, { expiresInMs: faults.current().tokenExpiresInMs }));
        },
      },
    },
    {
      host: 'api',
      pattern: /^\/crm\/(?<v>v[2-8](?:\.\d)?)\/org$/,
      methods: { GET: async () => json(200, { org: [orgView(org)] }) },
    },
    ...attachments.routes,
    ...photos.routes,
    ...bulk.routes,
    ...searchRoutes(parts, { equalsIsContains: options.searchEqualsContains ?? true }),
  ];

  const requestLog: RequestLogEntry[] = [];
  let sequence = 0;
  let inFlight = 0;
  let peak = 0;

  function inspect(): SandboxSnapshot {
    bulk.settle();
    const bulkState = bulk.snapshot();
    const current = faults.current();
    return {
      url,
      now: zohoTime(clock.now()),
      org: { id: org.id, zgid: org.zgid, company_name: org.companyName },
      seed: structuredClone(crm.seed),
      records: Object.fromEntries(
        crm.modules.map((m) => [m.apiName, crm.records(m.apiName).map((r) => crm.view(r))]),
      ),
      attachments: attachments.snapshot(),
      photos: photos.snapshot(),
      bulkFiles: bulkState.files,
      bulkJobs: bulkState.jobs,
      tokens: oauth.snapshot(),
      faults: { ...current, failNext: current.failNext.map((f) => ({ ...f, path: f.path?.toString() })) },
      concurrency: { limit: concurrencyLimit, inFlight, peak },
      requests: requestLog.map((entry) => ({ ...entry, files: [...entry.files] })),
    };
  }

  function createRecord(module: string, fields: Record<string, unknown>): string {
    const spec = crm.module(module);
    if (!spec) throw new Error(`The sandbox has no module ${module}`);
    return crm.create(spec, fields).id;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = new URL(req.url ?? '/', 'http://sandbox');
    const [prefix, kind] = HOST_PREFIXES.find(
      ([p]) => target.pathname === p || target.pathname.startsWith(`${p}/`),
    ) ?? ['', 'unknown' as HostKind];
    const path = target.pathname.slice(prefix.length);
    if (kind === 'admin') return admin(req, res, path);
    bulk.settle();

    const entry = logEntry(req, kind, target);
    const counted = kind === 'api' || kind === 'upload';
    if (counted) {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
    }
    res.once('close', () => {
      if (counted) inFlight -= 1;
      entry.status = res.headersSent ? res.statusCode : 0;
    });
    const ctx: RequestContext = {
      req,
      method: req.method ?? 'GET',
      path,
      query: target.searchParams,
      params: {},
      version: 8,
      log: entry,
      stored: false,
    };

    let reply: Reply;
    try {
      reply = await route(ctx, kind, counted);
    } catch (error) {
      if (error instanceof ConnectionCut) {
        entry.outcome = error.message;
        req.socket.destroy();
        return;
      }
      const failure = error instanceof ZohoFailure ? error : internalError();
      if (!(error instanceof ZohoFailure)) entry.outcome = `handler error: ${(error as Error).message}`;
      await drain(ctx);
      reply = json(failure.status, failure.body);
    }
    if (ctx.stored && faults.takeDropResponseAfterUpload()) {
      entry.outcome = 'fault dropResponseAfterUpload: stored, connection dropped without an answer';
      req.socket.destroy();
      return;
    }
    // Zoho's error code, whichever envelope carries it (token errors use `error`).
    const body = reply.body as { code?: unknown; ERROR_CODE?: unknown; error?: unknown } | undefined;
    const code = body?.code ?? body?.ERROR_CODE ?? body?.error;
    if (typeof code === 'string' && code !== 'SUCCESS' && code !== 'FILE_UPLOAD_SUCCESS') entry.code = code;
    await send(res, reply);
  }

  async function route(ctx: RequestContext, kind: HostKind, counted: boolean): Promise<Reply> {
    // Over the org's concurrency limit: 429 with no Retry-After (zoho-api.md, Limits).
    if (counted && inFlight > concurrencyLimit) {
      throw new ZohoFailure(
        429,
        'TOO_MANY_REQUESTS',
        'Too many concurrent requests. Please try again after some time.',
      );
    }
    if (kind === 'api' || kind === 'upload' || kind === 'download') {
      const { latencyMs } = faults.current();
      if (latencyMs > 0) await sleep(latencyMs);
      const injected = faults.failureFor(ctx.log.path);
      if (injected) {
        ctx.log.outcome = 'fault injected';
        throw new ZohoFailure(injected.status, injected.code, injected.message);
      }
    }
    const found = findRoute(kind, ctx.path);
    if (!found) throw invalidUrl();
    const handler = found.route.methods[ctx.method];
    if (!handler) throw invalidMethod();
    ctx.params = found.params;
    ctx.version = Number.parseInt((found.params.v ?? 'v8').slice(1), 10);
    if (kind !== 'accounts') {
      const auth = oauth.authenticate(ctx.req.headers.authorization);
      if (!auth.ok) throw new ZohoFailure(401, auth.code, AUTH_MESSAGES[auth.code]);
    }
    return handler(ctx);
  }

  function findRoute(
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

  function logEntry(req: IncomingMessage, kind: HostKind, target: URL): RequestLogEntry {
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
      time: zohoTime(clock.now()),
      method: req.method ?? 'GET',
      path: `${target.pathname}${search ? `?${search}` : ''}`,
      host: kind,
      headers,
      query: Object.fromEntries(query),
      status: 0,
      bodyBytes: 0,
      files: [],
    };
    requestLog.push(entry);
    if (requestLog.length > REQUEST_LOG_MAX) requestLog.shift();
    return entry;
  }

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const readJson = async () => {
      const text = (await readSmallBody(req as AsyncIterable<Buffer>, 1024 * 1024)).toString('utf8');
      return (text.trim() === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
    };
    const answer = (status: number, body: unknown) => send(res, json(status, body));
    try {
      const key = `${req.method} ${path}`;
      if (key === 'GET /state') return await answer(200, inspect());
      if (key === 'GET /requests') return await answer(200, inspect().requests);
      if (key === 'DELETE /faults') {
        faults.reset();
        return await answer(200, inspect().faults);
      }
      if (key === 'POST /faults') {
        const body = await readJson();
        if (body.reset === true) faults.reset();
        else faults.set(faultsFromJson(body));
        return await answer(200, inspect().faults);
      }
      if (key === 'POST /clock') {
        const { advanceMs } = await readJson();
        clock.advance(Number(advanceMs));
        return await answer(200, { now: zohoTime(clock.now()) });
      }
      if (key === 'POST /records') {
        const { module, fields } = await readJson();
        return await answer(201, {
          id: createRecord(String(module), (fields ?? {}) as Record<string, unknown>),
        });
      }
      if (key === 'POST /grant-code') return await answer(201, { code: oauth.issueGrantCode() });
      req.resume();
      return await answer(404, invalidUrl().body);
    } catch (error) {
      return await answer(400, { error: (error as Error).message });
    }
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  let closed = false;
  return {
    ...urls,
    credentials,
    clock: { now: () => clock.now(), advance: (ms) => clock.advance(ms) },
    faults: { set: (f) => faults.set(f), reset: () => faults.reset() },
    inspect,
    seed: crm.seed,
    createRecord,
    issueGrantCode: () => oauth.issueGrantCode(),
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await bulk.close();
      await rm(tmpDir, { recursive: true, force: true });
    },
  };
}

async function send(res: ServerResponse, reply: Reply): Promise<void> {
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

function redactAuthorization(value: string): string {
  const space = value.indexOf(' ');
  return space < 0 ? redact(value) : `${value.slice(0, space)} ${redact(value.slice(space + 1))}`;
}

/** Faults as JSON (admin endpoint): `path` is a substring, `pathRegex` a pattern. */
function faultsFromJson(body: Record<string, unknown>): Partial<Faults> {
  const { failNext, ...rest } = body;
  if (failNext === undefined) return rest as Partial<Faults>;
  if (!Array.isArray(failNext)) throw new Error('failNext must be an array');
  return {
    ...(rest as Partial<Faults>),
    failNext: failNext.map((raw: Record<string, unknown>) => {
      const { pathRegex, ...fail } = raw;
      return {
        ...(fail as unknown as FailNext),
        ...(typeof pathRegex === 'string' ? { path: new RegExp(pathRegex) } : {}),
      };
    }),
  };
}

function orgView(org: { id: string; zgid: string; companyName: string }): Record<string, unknown> {
  return {
    id: org.id,
    zgid: org.zgid,
    company_name: org.companyName,
    alias: null,
    primary_email: 'admin@sandbox.example',
    primary_zuid: '5725767000000100001',
    domain_name: 'sandbox-org',
    type: 'sandbox',
    country: 'United States',
    country_code: 'US',
    time_zone: 'UTC',
    currency: 'US Dollar',
    currency_symbol: '$',
    iso_code: 'USD',
    currency_locale: 'en_US',
    employee_count: '10',
    mc_status: false,
    gapps_enabled: false,
    translation_enabled: false,
    privacy_settings: false,
    website: null,
    phone: null,
    mobile: null,
    fax: null,
    street: null,
    city: null,
    state: null,
    zip: null,
    description: null,
    photo_id: null,
    license_details: {
      paid: true,
      paid_type: 'standard',
      trial_type: null,
      trial_expiry: null,
      users_license_purchased: 10,
      paid_expiry: null,
    },
  };
}
