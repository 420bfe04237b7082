/**
 * The Zoho CRM client: the calls the pipeline makes, each built from checked URL parts (paths.ts),
 * sent through one call engine (call.ts: shared token, pacing, retries) and read into the
 * client's types (answer-data.ts). This file wires those parts; the calls are grouped by what
 * they touch: record-calls.ts (a record's files, search), bulk-calls.ts (bulk write).
 *
 * Streamed uploads (attachments, photos, bulk ZIPs) are read once: the client owns `file.body`
 * from the call on and destroys it if the call fails. A failure after the first byte was read is
 * thrown, never retried here: 429 → ZohoThrottledError, 5xx → ZohoServerError, a connection lost
 * → ZohoOutcomeUnknownError, and a 401 that is not a scope or permission refusal → the token is
 * replaced and a retryable ZohoServerError says to send the file again. Only a failure before any
 * byte was read (token request, connection refused) is retried with the same stream.
 */
import { type Log, silentLog } from '../log.ts';
import { createTokenProvider } from './auth.ts';
import { bulkWriteCalls } from './bulk-calls.ts';
import { createCaller } from './call.ts';
import type { ClientParts } from './client-parts.ts';
import { trimSlash, type ZohoHosts } from './hosts.ts';
import { combinePacers, createPacer, type Pacer } from './pacing.ts';
import { queryString } from './paths.ts';
import { fieldFileCalls, recordFileCalls, searchCalls } from './record-calls.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, realSleep, type Sleep } from './retry.ts';
import { API_VERSION, type OAuthCredentials, type TokenStore, type ZohoClient } from './types.ts';
import { Agent, type Dispatcher } from './undici.ts';

export interface ZohoClientOptions {
  hosts: ZohoHosts;
  /** Default `v8`. */
  apiVersion?: string | undefined;
  credentials: OAuthCredentials | (() => Promise<OAuthCredentials>);
  /** Default: in this process only. Give a shared store (DynamoDB) to share tokens across a fleet. */
  tokenStore?: TokenStore | undefined;
  /** Calls in flight at once (default 10: Zoho Standard edition). */
  maxInFlight?: number | undefined;
  /** Optional cap on calls started per sliding minute. */
  callsPerMinute?: number | undefined;
  /** A turn the whole fleet shares (fleet/slots.ts), taken after the container's own. */
  fleetSlots?: Pacer | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  /** Refresh the access token this long before it expires (default 5 minutes). */
  tokenRefreshSkewMs?: number | undefined;
  log?: Log | undefined;
  now?: (() => number) | undefined;
  sleep?: Sleep | undefined;
  /** For back-off jitter; tests pin it. */
  random?: (() => number) | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Told each time this process mints an access token (e.g. to count refreshes). */
  onTokenRefresh?: ((token: { expiresAt: number }) => void) | undefined;
}

export function createZohoClient(options: ZohoClientOptions): ZohoClient {
  const version = options.apiVersion ?? 'v8';
  if (!API_VERSION.test(version)) throw new RangeError(`apiVersion must look like "v8", got "${version}"`);
  const hosts: ZohoHosts = {
    accountsUrl: trimSlash(options.hosts.accountsUrl),
    apiUrl: trimSlash(options.hosts.apiUrl),
    uploadUrl: trimSlash(options.hosts.uploadUrl),
  };
  const parts: ClientParts = {
    caller: createCaller(callerParts(options, hosts)),
    hosts,
    version,
    api: (token, path, query) => `${token.apiDomain}/crm/${version}/${path}${queryString(query)}`,
  };
  return {
    ...recordFileCalls(parts),
    ...fieldFileCalls(parts),
    ...bulkWriteCalls(parts),
    ...searchCalls(parts),
  };
}

/** The token provider, the pacer and the retry policy the call engine runs with. */
function callerParts(options: ZohoClientOptions, hosts: ZohoHosts) {
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const dispatcher = options.dispatcher ?? new Agent();
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry ?? {}) };
  const tokens = createTokenProvider({
    accountsUrl: hosts.accountsUrl,
    defaultApiDomain: hosts.apiUrl,
    credentials: options.credentials,
    store: options.tokenStore,
    dispatcher,
    refreshSkewMs: options.tokenRefreshSkewMs,
    throttleDelayMs: policy.throttleDelayMs,
    now,
    sleep,
    log,
    onRefresh: options.onTokenRefresh,
  });
  const pacer = combinePacers(
    createPacer({ maxInFlight: options.maxInFlight, callsPerMinute: options.callsPerMinute, now, sleep }),
    options.fleetSlots,
  );
  return { dispatcher, tokens, pacer, policy, log, sleep, random: options.random ?? Math.random };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
