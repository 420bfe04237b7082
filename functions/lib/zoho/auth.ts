/**
 * Access tokens, shared. Zoho lets one refresh token mint at most 10 access tokens per 10 minutes
 * and keep 15 alive (the 16th silently kills the oldest), so:
 * - in a process, every caller shares one token and one refresh in flight (single flight);
 * - across the fleet, the TokenStore holds the token and a lease says who may mint. A container
 *   denied the lease polls the store until the holder's token appears; if none appears within
 *   `leaseWaitMs` (the holder died or hangs) it mints anyway: one extra token beats a stalled
 *   fleet, and the lease TTL keeps that rare.
 * - "Access Denied, too many requests" from the accounts server blocks minting for the rest of
 *   its ten-minute window: no token request leaves this process for `throttleDelayMs` (default
 *   the whole window), callers meanwhile get the same ZohoThrottledError.
 * Tokens, the secret and the refresh token are never logged.
 */
import { isObject } from '../json.ts';
import type { Log } from '../log.ts';
import { parseJson, stringOf } from './answer-errors.ts';
import {
  ZohoAuthError,
  ZohoDeadlineError,
  type ZohoError,
  ZohoNetworkError,
  ZohoOutcomeUnknownError,
  ZohoProtocolError,
  ZohoServerError,
  ZohoThrottledError,
} from './errors.ts';
import { trimSlash } from './hosts.ts';
import { formBody, readText, send } from './http.ts';
import { deadlineError, realSleep, type Sleep } from './retry.ts';
import type { AccessToken, OAuthCredentials, TokenStore } from './types.ts';
import type { Dispatcher } from './undici.ts';

export interface TokenProviderOptions {
  accountsUrl: string;
  /** The API base when the token answer carries no `api_domain`. */
  defaultApiDomain: string;
  credentials: OAuthCredentials | (() => Promise<OAuthCredentials>);
  store?: TokenStore | undefined;
  dispatcher: Dispatcher;
  /** Refresh this long before the token expires (default 5 minutes). */
  refreshSkewMs?: number | undefined;
  /** How long an "Access Denied" from the accounts server stops us asking again (default 10 minutes: the window). */
  throttleDelayMs?: number | undefined;
  /** How long the right to mint is held across the fleet (default 30 s). */
  leaseTtlMs?: number | undefined;
  /** How long to wait for another container's token before minting anyway (default 35 s). */
  leaseWaitMs?: number | undefined;
  leasePollMs?: number | undefined;
  /** A token request that takes longer than this is abandoned (default 30 s). */
  mintTimeoutMs?: number | undefined;
  now?: (() => number) | undefined;
  sleep?: Sleep | undefined;
  log: Log;
  onRefresh?: ((token: { expiresAt: number }) => void) | undefined;
}

export interface TokenProvider {
  /** A token good for at least the refresh skew. */
  current(signal?: AbortSignal): Promise<AccessToken>;
  /**
   * Zoho refused `rejected` (401 INVALID_TOKEN): a token other than it. Mints only if no newer
   * token is known (another caller or container may already have refreshed).
   */
  replace(rejected: AccessToken, signal?: AbortSignal): Promise<AccessToken>;
}

const DEFAULTS = {
  refreshSkewMs: 5 * 60_000,
  /** Zoho's minting window: "Access Denied" holds for the rest of it, at most ten minutes. */
  throttleDelayMs: 10 * 60_000,
  leaseTtlMs: 30_000,
  leaseWaitMs: 35_000,
  leasePollMs: 250,
  mintTimeoutMs: 30_000,
};
/** A wrong client id or secret must not turn every queued file into a token request. */
const AUTH_FAILURE_HOLD_MS = 10_000;
/** The accounts server's answers (HTTP 200) for a wrong refresh token, client id or secret. */
const CREDENTIAL_ERRORS = new Set(['invalid_code', 'invalid_client', 'invalid_client_secret']);
/** Zoho access tokens live one hour; used when the answer gives no lifetime. */
const DEFAULT_LIFETIME_SECONDS = 3600;

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const store = options.store ?? createMemoryTokenStore();
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const { log } = options;
  const settings = settingsOf(options);

  let cached: AccessToken | undefined;
  let flight: Promise<AccessToken> | undefined;
  let refused: string | undefined;
  let blocked: { until: number; error: ZohoError } | undefined;

  const usable = (token: AccessToken | undefined): token is AccessToken =>
    token !== undefined && token.accessToken !== refused && now() < token.expiresAt - settings.refreshSkewMs;

  function adopt(token: AccessToken): AccessToken {
    cached = token;
    return token;
  }

  function obtainShared(): Promise<AccessToken> {
    if (!flight) {
      flight = obtain().finally(() => {
        flight = undefined;
      });
    }
    return flight;
  }

  async function obtain(): Promise<AccessToken> {
    if (blocked && now() < blocked.until) throw blocked.error;
    const stored = await store.get();
    if (usable(stored)) return adopt(stored);

    const giveUpAt = now() + settings.leaseWaitMs;
    let leased = await store.acquireLease(settings.leaseTtlMs);
    while (!leased) {
      if (now() >= giveUpAt) {
        log.warn('No Zoho access token appeared from the container holding the lease; minting one here');
        break;
      }
      await sleep(settings.leasePollMs);
      const fresh = await store.get();
      if (usable(fresh)) return adopt(fresh);
      leased = await store.acquireLease(settings.leaseTtlMs);
    }
    // A holder that saved its token lets go of the lease with the same write: between our last
    // look and this lease, another container may have minted. Its token, not a second mint.
    const saved = leased ? await store.get() : undefined;
    if (usable(saved)) {
      await releaseLease();
      return adopt(saved);
    }

    let token: AccessToken;
    try {
      token = await mint(options, settings.mintTimeoutMs, now);
    } catch (error) {
      await releaseLease();
      if (error instanceof ZohoThrottledError) blocked = { until: now() + settings.throttleDelayMs, error };
      if (error instanceof ZohoAuthError) blocked = { until: now() + AUTH_FAILURE_HOLD_MS, error };
      throw error;
    }
    blocked = undefined;
    cached = token;
    log.info('Zoho access token refreshed', { expiresAt: new Date(token.expiresAt).toISOString() });
    options.onRefresh?.({ expiresAt: token.expiresAt });
    try {
      await store.put(token);
    } catch (error) {
      log.warn('Could not save the Zoho access token for the fleet; using it in this container only', {
        error: String(error),
      });
    }
    return token;
  }

  const releaseLease = () =>
    store.releaseLease().catch((error: unknown) => {
      log.warn('Could not give back the token lease', { error: String(error) });
    });

  return {
    async current(signal) {
      if (usable(cached)) return cached;
      return raceSignal(obtainShared(), signal);
    },
    async replace(rejected, signal) {
      refused = rejected.accessToken;
      if (usable(cached)) return cached;
      let token = await raceSignal(obtainShared(), signal);
      // A flight that began before the refusal may have brought back the refused token.
      if (token.accessToken === rejected.accessToken) token = await raceSignal(obtainShared(), signal);
      return token;
    },
  };
}

function settingsOf(options: TokenProviderOptions) {
  return {
    refreshSkewMs: options.refreshSkewMs ?? DEFAULTS.refreshSkewMs,
    throttleDelayMs: options.throttleDelayMs ?? DEFAULTS.throttleDelayMs,
    leaseTtlMs: options.leaseTtlMs ?? DEFAULTS.leaseTtlMs,
    leaseWaitMs: options.leaseWaitMs ?? DEFAULTS.leaseWaitMs,
    leasePollMs: options.leasePollMs ?? DEFAULTS.leasePollMs,
    mintTimeoutMs: options.mintTimeoutMs ?? DEFAULTS.mintTimeoutMs,
  };
}

/** One token request to the accounts server. */
async function mint(
  options: TokenProviderOptions,
  timeoutMs: number,
  now: () => number,
): Promise<AccessToken> {
  const credentials =
    typeof options.credentials === 'function' ? await options.credentials() : options.credentials;
  const outgoing = {
    method: 'POST' as const,
    url: `${options.accountsUrl}/oauth/v2/token`,
    body: formBody({
      grant_type: 'refresh_token',
      client_id: credentials.clientId,
      client_secret: credentials.clientSecret,
      refresh_token: credentials.refreshToken,
    }),
    signal: AbortSignal.timeout(timeoutMs),
  };
  try {
    const incoming = await send(options.dispatcher, outgoing);
    const text = await readText(incoming, outgoing);
    return parseTokenAnswer(incoming.status, text, now(), options.defaultApiDomain);
  } catch (error) {
    // A token request lost on the way is simply asked again: no state at Zoho to look for.
    if (error instanceof ZohoOutcomeUnknownError || error instanceof ZohoDeadlineError) {
      throw new ZohoNetworkError(`The token request to ${options.accountsUrl} failed: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The accounts server's answer to a refresh → a token. */
function parseTokenAnswer(status: number, text: string, now: number, defaultApiDomain: string): AccessToken {
  const { accessToken, json } = readTokenAnswer(status, text);
  const apiDomain = stringOf(json.api_domain) ?? defaultApiDomain;
  return { accessToken, apiDomain: trimSlash(apiDomain), expiresAt: now + lifetimeMs(json) };
}

/**
 * Any answer of `POST {accounts}/oauth/v2/token` (a refresh, a grant code exchange) → its JSON, or
 * the error it stands for. Success is the presence of `access_token`, never the HTTP status:
 * errors come with 200 and an `error` key.
 */
export function readTokenAnswer(
  status: number,
  text: string,
): { accessToken: string; json: Record<string, unknown> } {
  const json = parseJson(text);
  if (!isObject(json)) {
    const fields = { status };
    if (status === 429)
      return throwing(new ZohoThrottledError('The Zoho accounts server answered 429', fields));
    if (status >= 500)
      return throwing(new ZohoServerError(`The Zoho accounts server answered ${status}`, fields));
    return throwing(
      new ZohoProtocolError(`The Zoho accounts server answered ${status} without JSON`, fields),
    );
  }
  const accessToken = stringOf(json.access_token);
  if (accessToken) return { accessToken, json };
  const code = stringOf(json.error) ?? stringOf(json.code);
  const description = stringOf(json.error_description) ?? stringOf(json.message) ?? '';
  const fields = {
    zohoCode: code,
    status,
    details: description ? { error_description: description } : undefined,
  };
  const credentialsRefused = code !== undefined && CREDENTIAL_ERRORS.has(code);
  if (
    !credentialsRefused &&
    (status === 429 || code === 'Access Denied' || /too many requests/i.test(description))
  ) {
    return throwing(
      new ZohoThrottledError(`The Zoho accounts server refused: too many token requests`, fields),
    );
  }
  if (status >= 500)
    return throwing(new ZohoServerError(`The Zoho accounts server answered ${status}`, fields));
  if (code) {
    return throwing(
      new ZohoAuthError(
        `The Zoho accounts server refused the refresh token (${code}${description ? `: ${description}` : ''}); check the client id, secret and refresh token`,
        fields,
      ),
    );
  }
  return throwing(
    new ZohoProtocolError(`The Zoho accounts server answered ${status} without a token or an error`, fields),
  );
}

/**
 * `expires_in` is seconds; accounts that also send `expires_in_sec` may send `expires_in` in
 * milliseconds, so `expires_in_sec` wins.
 */
function lifetimeMs(answer: Record<string, unknown>): number {
  const seconds =
    positiveNumber(answer.expires_in_sec) ?? positiveNumber(answer.expires_in) ?? DEFAULT_LIFETIME_SECONDS;
  return seconds * 1000;
}

function positiveNumber(value: unknown): number | undefined {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) && number > 0 ? number : undefined;
}

function throwing(error: Error): never {
  throw error;
}

/** Waits for a shared promise, but lets this caller leave at its own deadline. */
async function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) throw deadlineError(signal);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(deadlineError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

/** One container's store: nothing to coordinate, the lease is always granted. */
export function createMemoryTokenStore(): TokenStore {
  let token: AccessToken | undefined;
  return {
    get: async () => token,
    async put(next) {
      token = next;
    },
    acquireLease: async () => true,
    async releaseLease() {},
  };
}
