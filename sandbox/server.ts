/**
 * A local Zoho CRM that speaks Zoho's documented contract (zoho-api.md): OAuth, attachments,
 * photos, bulk write, search, org. One port, hosts told apart by path: `/accounts` (tokens),
 * `/api` (CRM API), `/content` (bulk ZIP uploads), `/download` (bulk results), `/__sandbox`
 * (admin for out-of-process users). See sandbox/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdmin } from './admin.ts';
import { ATTACHMENT_MAX_BYTES, attachmentRoutes } from './attachments.ts';
import { bulkRoutes } from './bulk.ts';
import { createClock, createIdGenerator, zohoTime } from './clock.ts';
import {
  bodyOf,
  type RequestContext,
  type RequestLogEntry,
  type Route,
  receiveForm,
  type SandboxParts,
  type SandboxUrls,
} from './context.ts';
import { createCrm } from './crm.ts';
import { createDispatcher, send } from './dispatch.ts';
import { createFaultState, type FailNext, type Faults, type UploadErrorStyle } from './faults.ts';
import { fieldFileRoutes } from './field-files.ts';
import { headerValue, json, readSmallBody } from './http.ts';
import { multipartParser } from './multipart.ts';
import { type Credentials, createOAuthServer, type OAuthSnapshot } from './oauth.ts';
import { orgRoute } from './org.ts';
import { createSaver, loadState, restoreState, type StateMaps } from './persist.ts';
import { photoRoutes } from './photo.ts';
import { createRequestLog } from './request-log.ts';
import { searchRoutes } from './search.ts';
import { settingsRoutes } from './settings.ts';

export type { Credentials, FailNext, Faults, RequestLogEntry, UploadErrorStyle };

/** The first id the counter gives a new sandbox (records, attachments, files and jobs share it). */
const FIRST_ID = 5725767000001000001n;

export interface SandboxOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Attachment size limit; default ATTACHMENT_MAX_BYTES (attachments.ts: Zoho's 100 MB). */
  attachmentMaxBytes?: number;
  /** Calls in flight at once on the API and upload hosts before 429; default 10 (Standard edition). */
  concurrencyLimit?: number;
  /** Access token lifetime; default 3600. */
  tokenTtlSeconds?: number;
  /** How long a bulk job stays ADDED, then IN PROGRESS; default 300 ms. */
  bulkJobStepMs?: number;
  /** Working credentials; default generated, obviously fake `sandbox-…` values. */
  credentials?: Credentials;
  /** The scopes those credentials' refresh token was granted; default DEFAULT_SCOPES (scopes.ts). */
  scopes?: readonly string[];
  /** ⚠ How the upload host answers its errors; default `flat-200` (zoho-api.md). */
  uploadErrorStyle?: UploadErrorStyle;
  /** ⚠ `expires_in` in milliseconds plus `expires_in_sec`; default false. */
  tokenExpiresInMs?: boolean;
  /** ⚠ v8 search: `equals` on text fields matches like "contains"; default true. */
  searchEqualsContains?: boolean;
  /** ⚠ Files a file-upload field holds; default 5, an assumption (field-files.ts, FIELD_MAX_FILES). */
  fieldMaxFiles?: number;
  /**
   * A folder that keeps the sandbox's state across restarts (persist.ts): records, files and their
   * bytes, bulk jobs, tokens, credentials, the id counter. Default none: in memory, from the seed.
   */
  stateDir?: string;
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
  /** What the records' file-upload fields hold, and every file uploaded to ZFS. */
  fieldFiles: ReturnType<ReturnType<typeof fieldFileRoutes>['snapshot']>;
  zfsFiles: ReturnType<ReturnType<typeof fieldFileRoutes>['zfsFiles']>;
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
  issueGrantCode(scopes?: readonly string[]): string;
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const { stateDir } = options;
  const { saved, credentials, tmpDir } = await openState(options);
  const { server, urls } = await listen(options);
  const zoho = createZoho(options, {
    credentials,
    tmpDir,
    urls,
    firstId: saved ? BigInt(saved.nextId) : FIRST_ID,
  });
  const persisted = { crm: zoho.crm, maps: zoho.maps, nextId: zoho.peekId };
  if (saved) restoreState(saved, persisted);
  const saver = stateDir ? createSaver(stateDir, persisted, credentials) : undefined;
  await saver?.save();
  const { clock, faults, oauth, crm, bulk } = zoho;
  const requestLog = createRequestLog(() => clock.now());
  const createRecord = (module: string, fields: Record<string, unknown>): string => {
    const spec = crm.module(module);
    if (!spec) throw new Error(`The sandbox has no module ${module}`);
    return crm.create(spec, fields).id;
  };

  const inspect = () => snapshotOf(zoho, urls.url, () => dispatcher.concurrency(), requestLog);
  const admin = createAdmin({
    inspect,
    faults,
    clock,
    createRecord,
    issueGrantCode: () => oauth.issueGrantCode(),
    send,
  });
  const dispatcher = createDispatcher({
    routes: zoho.routes,
    faults,
    oauth,
    requestLog,
    concurrencyLimit: options.concurrencyLimit ?? 10,
    settle: () => bulk.settle(),
    save: saver?.save,
    admin,
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    dispatcher.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  return {
    ...urls,
    credentials,
    clock: { now: () => clock.now(), advance: (ms) => clock.advance(ms) },
    faults: { set: (f) => faults.set(f), reset: () => faults.reset() },
    inspect,
    seed: crm.seed,
    createRecord,
    issueGrantCode: (scopes) => oauth.issueGrantCode(scopes),
    close: closer({ server, stateDir, saver, bulk, tmpDir }),
  };
}

/**
 * The state a sandbox starts from: the one kept in `stateDir` (and its credentials), or none;
 * the folder its files go to (under `stateDir`, else a new temporary one).
 */
async function openState(options: SandboxOptions) {
  const { stateDir } = options;
  const saved = stateDir
    ? await loadState(stateDir, createCrm({ clock: createClock(), nextId: () => '' }))
    : undefined;
  const credentials = options.credentials ??
    saved?.credentials ?? {
      clientId: 'sandbox-client-id',
      clientSecret: `sandbox-secret-${randomBytes(16).toString('hex')}`,
      refreshToken: `sandbox-rt-${randomBytes(16).toString('hex')}`,
    };
  const tmpDir = stateDir ? join(stateDir, 'files') : await mkdtemp(join(tmpdir(), 'zoho-sandbox-'));
  if (stateDir) await mkdir(tmpDir, { recursive: true });
  return { saved, credentials, tmpDir };
}

/** Everything the sandbox holds, as `inspect()` and the admin API give it. */
function snapshotOf(
  zoho: ReturnType<typeof createZoho>,
  url: string,
  concurrency: () => SandboxSnapshot['concurrency'],
  requestLog: ReturnType<typeof createRequestLog>,
): SandboxSnapshot {
  const { bulk, faults, clock, crm, oauth } = zoho;
  bulk.settle();
  const bulkState = bulk.snapshot();
  const current = faults.current();
  return {
    url,
    now: zohoTime(clock.now()),
    org: { id: zoho.org.id, zgid: zoho.org.zgid, company_name: zoho.org.companyName },
    seed: structuredClone(crm.seed),
    records: Object.fromEntries(
      crm.modules.map((m) => [m.apiName, crm.records(m.apiName).map((r) => crm.view(r))]),
    ),
    attachments: zoho.attachments.snapshot(),
    fieldFiles: zoho.fieldFiles.snapshot(),
    zfsFiles: zoho.fieldFiles.zfsFiles(),
    photos: zoho.photos.snapshot(),
    bulkFiles: bulkState.files,
    bulkJobs: bulkState.jobs,
    tokens: oauth.snapshot(),
    faults: { ...current, failNext: current.failNext.map((f) => ({ ...f, path: f.path?.toString() })) },
    concurrency: concurrency(),
    requests: requestLog.entries(),
  };
}

/** Stops the server once; a state folder keeps the files (saved once more), a temporary one goes. */
function closer(running: {
  server: Server;
  stateDir: string | undefined;
  saver: { save(): Promise<void> } | undefined;
  bulk: { close(): Promise<void> };
  tmpDir: string;
}): () => Promise<void> {
  const { server, stateDir, saver, bulk, tmpDir } = running;
  let closed = false;
  return async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    if (stateDir) return await saver?.save();
    await bulk.close();
    await rm(tmpDir, { recursive: true, force: true });
  };
}

/** A server listening on the asked port (0: a free one), and the hosts' URLs on it. */
async function listen(options: SandboxOptions): Promise<{ server: Server; urls: SandboxUrls }> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  return {
    server,
    urls: { url, accountsUrl: `${url}/accounts`, apiUrl: `${url}/api`, uploadUrl: `${url}/content` },
  };
}

/** The CRM itself: its clock, records, faults, OAuth server, and every route of Zoho's contract. */
function createZoho(
  options: SandboxOptions,
  given: { credentials: Credentials; tmpDir: string; urls: SandboxUrls; firstId: bigint },
) {
  let settle = () => {};
  const clock = createClock(() => settle());
  let issued = given.firstId;
  const ids = createIdGenerator(given.firstId);
  const nextId = () => {
    issued += 1n;
    return ids();
  };
  const crm = createCrm({ clock, nextId });
  const faults = createFaultState({
    tokenExpiresInMs: options.tokenExpiresInMs ?? false,
    uploadErrorStyle: options.uploadErrorStyle ?? 'flat-200',
  });
  const org = { id: '5725767000000000001', zgid: '57257670', companyName: 'Sandbox Org' };
  const parts: SandboxParts = { clock, crm, faults, nextId, tmpDir: given.tmpDir, urls: given.urls, org };
  const oauth = createOAuthServer({
    clock,
    credentials: given.credentials,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
    apiUrl: given.urls.apiUrl,
    scopes: options.scopes,
  });
  const attachments = attachmentRoutes(parts, {
    maxBytes: options.attachmentMaxBytes ?? ATTACHMENT_MAX_BYTES,
  });
  const photos = photoRoutes(parts);
  const bulk = bulkRoutes(parts, { stepMs: options.bulkJobStepMs ?? 300 });
  const fieldFiles = fieldFileRoutes(parts, { maxFiles: options.fieldMaxFiles });
  settle = () => bulk.settle();

  const tokenRoute: Route = {
    host: 'accounts',
    pattern: /^\/oauth\/v2\/token$/,
    methods: {
      async POST(ctx) {
        const params = new URLSearchParams(ctx.query);
        for (const [name, value] of await tokenForm(ctx, parts)) params.set(name, value);
        // Token errors come back with HTTP 200 too (zoho-api.md, OAuth).
        return json(200, oauth.token(params, { expiresInMs: faults.current().tokenExpiresInMs }));
      },
    },
  };
  const routes: Route[] = [
    tokenRoute,
    orgRoute(org),
    ...attachments.routes,
    ...photos.routes,
    ...bulk.routes,
    ...searchRoutes(parts, { equalsIsContains: options.searchEqualsContains ?? true }),
    ...settingsRoutes(crm),
    // Last: `/crm/{v}/{module}/{id}` would also match `…/search`.
    ...fieldFiles.routes,
  ];
  const maps = {
    ...attachments.maps,
    ...photos.maps,
    ...bulk.maps,
    ...fieldFiles.maps,
    ...oauth.maps,
  } as StateMaps;
  return {
    clock,
    crm,
    faults,
    org,
    oauth,
    attachments,
    photos,
    bulk,
    fieldFiles,
    routes,
    maps,
    peekId: () => issued,
  };
}

const TOKEN_PARAMS = ['grant_type', 'client_id', 'client_secret', 'refresh_token', 'code', 'redirect_uri'];

/**
 * The token request's form: URL-encoded, or multipart/form-data as Zoho's TypeScript SDK 8.0
 * sends it (models/authenticator/oauth_token.js, refreshAccessToken: a `form-data` body).
 */
async function tokenForm(ctx: RequestContext, parts: SandboxParts): Promise<Iterable<[string, string]>> {
  if (!multipartParser(headerValue(ctx.req, 'content-type'))) {
    return new URLSearchParams((await readSmallBody(bodyOf(ctx), 64 * 1024)).toString('utf8'));
  }
  const form = await receiveForm(ctx, parts, { maxBytes: 0, mode: 'memory', textFields: TOKEN_PARAMS });
  return Object.entries(form.fields);
}
