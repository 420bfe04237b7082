/**
 * Zoho's official TypeScript SDK 8.0 (`@zohocrm/typescript-sdk-8.0`, a devDependency, never in a
 * Lambda bundle) pointed at the sandbox, and what the sandbox's request log says each side sent.
 *
 * The SDK is a process-wide singleton (routes/initializer.js): one test file, one sandbox. Its
 * token store, field metadata cache (`resourcePath`/resources) and log go to a temporary folder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ZCRM from '@zohocrm/typescript-sdk-8.0';
import type { RequestLogEntry, Sandbox } from '#sandbox/server.ts';

export { ZCRM };

export interface SdkRun {
  dir: string;
  /** Initializes the SDK again with another token (e.g. a grant code to exchange), same hosts and folder. */
  switchTo(token: InstanceType<typeof ZCRM.OAuthToken>): Promise<void>;
  /** A file the SDK can upload (its StreamWrapper reads a path). */
  file(name: string, data: Buffer | string): Promise<InstanceType<typeof ZCRM.StreamWrapper>>;
  close(): Promise<void>;
}

/** Initializes the SDK against the sandbox's three hosts, as its README shows for a data centre. */
export async function startSdk(sandbox: Sandbox): Promise<SdkRun> {
  const dir = await mkdtemp(join(tmpdir(), 'zoho-sdk-'));
  // routes/dc/environment.js: new Environment(apiUrl, accountsUrl (the token URL), fileUploadUrl).
  const environment = new ZCRM.Environment(
    sandbox.apiUrl,
    `${sandbox.accountsUrl}/oauth/v2/token`,
    sandbox.uploadUrl,
  );
  const token = new ZCRM.OAuthBuilder()
    .clientId(sandbox.credentials.clientId)
    .clientSecret(sandbox.credentials.clientSecret)
    .refreshToken(sandbox.credentials.refreshToken)
    .findUser(false)
    .build();
  const initialize = (next: InstanceType<typeof ZCRM.OAuthToken>) =>
    new ZCRM.InitializeBuilder()
      .environment(environment)
      .token(next)
      .store(new ZCRM.FileStore(join(dir, 'tokens.txt')))
      .SDKConfig(new ZCRM.SDKConfigBuilder().autoRefreshFields(false).pickListValidation(false).build())
      .logger(new ZCRM.LogBuilder().level(ZCRM.Levels.ERROR).filePath(join(dir, 'sdk.log')).build())
      .resourcePath(dir)
      .initialize();
  await initialize(token);
  return {
    dir,
    switchTo: initialize,
    async file(name, data) {
      const path = join(dir, name);
      await writeFile(path, data);
      return new ZCRM.StreamWrapper(undefined, undefined, path);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The headers of Zoho's contract whose presence matters (values are the caller's). */
const CONTRACT_HEADERS = ['feature', 'x-crm-org', 'x-external'];

/** What parity compares: method, path with ids as `{id}`, and the names (never values) sent. */
export interface RequestShape {
  method: string;
  path: string;
  query: string[];
  form: string[];
  json: string[];
  headers: string[];
}

export function shapeOf(entry: RequestLogEntry): RequestShape {
  return {
    method: entry.method,
    // Record, attachment, job and ZFS ids, the org's zgid: values, not shape.
    path: entry.path.replace(/\?.*$/, '').replace(/\/(\d{6,}|[0-9a-f]{64})(?=\/|\.zip$|$)/g, '/{id}'),
    query: Object.keys(entry.query).sort(),
    form: [...new Set(entry.form)].sort(),
    json: entry.jsonKeys,
    headers: CONTRACT_HEADERS.filter((name) => name in entry.headers),
  };
}

/**
 * Runs `act` and gives back the requests the sandbox logged meanwhile. The SDK's own metadata
 * reads (`/settings/…`, its field cache) are left out unless asked for: they are not the operation.
 */
export async function requestsDuring<T>(
  sandbox: Sandbox,
  act: () => Promise<T>,
  options: { withSettings?: boolean } = {},
): Promise<{ result: T; requests: RequestLogEntry[] }> {
  const before = sandbox.inspect().requests.at(-1)?.seq ?? 0;
  const result = await act();
  const requests = sandbox
    .inspect()
    .requests.filter((r) => r.seq > before)
    .filter((r) => options.withSettings || !r.path.includes('/settings/'));
  return { result, requests };
}
