/**
 * The accounts server (zoho-api.md, OAuth): refresh-token and grant-code exchanges, the minting
 * limits, and the access tokens the API hosts accept. Every token error is answered with HTTP 200
 * and an `error` key, as Zoho does.
 */
import { randomBytes } from 'node:crypto';
import { type Clock, zohoTime } from './clock.ts';
import { DEFAULT_SCOPES } from './scopes.ts';

export interface Credentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/** Zoho: at most 10 access tokens per refresh token per 10 minutes. */
const MINTS_PER_WINDOW = 10;
const MINT_WINDOW_MS = 10 * 60_000;
/** Zoho: at most 15 access tokens alive per refresh token; the 16th invalidates the oldest. */
const MAX_ALIVE_TOKENS = 15;
/** Self Client grant codes are valid for minutes; the sandbox gives 3. */
const GRANT_CODE_TTL_MS = 3 * 60_000;

interface AccessTokenState {
  token: string;
  refreshToken: string;
  scopes: readonly string[];
  issuedAt: number;
  expiresAt: number;
  invalidated: boolean;
}

interface RefreshTokenState {
  token: string;
  clientId: string;
  createdAt: number;
  /** What its grant allowed. */
  scopes: readonly string[];
  /** The access tokens minted from it that may still be alive, oldest first. */
  minted: AccessTokenState[];
  /** The current minting window: when it opened, how many tokens it gave. */
  window: { openedAt: number; mints: number } | undefined;
}

export type AuthResult =
  | { ok: true; token: string; scopes: readonly string[] }
  | { ok: false; code: 'INVALID_TOKEN' | 'AUTHENTICATION_FAILURE' };

export interface OAuthServer {
  /** The token endpoint: form parameters in, the JSON body Zoho sends (always with HTTP 200) out. */
  token(params: URLSearchParams, options: { expiresInMs: boolean }): Record<string, unknown>;
  /** Checks an `Authorization` header. */
  authenticate(header: string | undefined): AuthResult;
  /** A grant code for these scopes (default DEFAULT_SCOPES). */
  issueGrantCode(scopes?: readonly string[]): string;
  snapshot(): OAuthSnapshot;
  /** The state a restart keeps (persist.ts): a refresh token's `minted` are entries of `accessTokens`. */
  maps: {
    refreshTokens: Map<string, RefreshTokenState>;
    accessTokens: Map<string, AccessTokenState>;
    grantCodes: Map<string, unknown>;
  };
}

export interface OAuthSnapshot {
  clients: Array<{ clientId: string }>;
  refreshTokens: Array<{
    token: string;
    clientId: string;
    createdTime: string;
    mintedInWindow: number;
    alive: number;
  }>;
  accessTokens: Array<{
    token: string;
    refreshToken: string;
    issuedTime: string;
    expiresTime: string;
    state: string;
  }>;
  grantCodes: Array<{ code: string; expiresTime: string; used: boolean }>;
}

const TOKEN_SCHEME = 'zoho-oauthtoken';

export function createOAuthServer(options: {
  clock: Clock;
  credentials: Credentials;
  tokenTtlSeconds: number;
  apiUrl: string;
  /** The scopes of the credentials' own refresh token (default DEFAULT_SCOPES). */
  scopes?: readonly string[] | undefined;
}): OAuthServer {
  const { clock, tokenTtlSeconds, apiUrl } = options;
  const clients = new Map([[options.credentials.clientId, options.credentials.clientSecret]]);
  const refreshTokens = new Map<string, RefreshTokenState>();
  const accessTokens = new Map<string, AccessTokenState>();
  const grantCodes = new Map<
    string,
    { expiresAt: number; used: boolean; clientId: string; scopes: readonly string[] }
  >();
  addRefreshToken(
    options.credentials.refreshToken,
    options.credentials.clientId,
    options.scopes ?? DEFAULT_SCOPES,
  );

  function addRefreshToken(token: string, clientId: string, scopes: readonly string[]): RefreshTokenState {
    const state: RefreshTokenState = {
      token,
      clientId,
      createdAt: clock.now(),
      scopes,
      minted: [],
      window: undefined,
    };
    refreshTokens.set(token, state);
    return state;
  }

  const minting = () => ({ now: clock.now(), tokenTtlSeconds, apiUrl, accessTokens });

  function checkClient(params: URLSearchParams): Record<string, unknown> | undefined {
    const secret = clients.get(params.get('client_id') ?? '');
    if (secret === undefined) return { error: 'invalid_client' };
    if (params.get('client_secret') !== secret) return { error: 'invalid_client_secret' };
    return undefined;
  }

  return {
    token(params, { expiresInMs }) {
      const grantType = params.get('grant_type');
      if (grantType !== 'refresh_token' && grantType !== 'authorization_code')
        return { error: 'unsupported_grant_type' };
      const clientError = checkClient(params);
      if (clientError) return clientError;
      const clientId = params.get('client_id') ?? '';

      if (grantType === 'refresh_token') {
        const refresh = refreshTokens.get(params.get('refresh_token') ?? '');
        if (!refresh || refresh.clientId !== clientId) return { error: 'invalid_code' };
        return mint(refresh, expiresInMs, minting());
      }
      const code = params.get('code') ?? '';
      const grant = grantCodes.get(code);
      if (!grant || grant.used || grant.clientId !== clientId || clock.now() >= grant.expiresAt) {
        return { error: 'invalid_code' };
      }
      grant.used = true; // single use
      const refresh = addRefreshToken(
        `sandbox-rt-${randomBytes(16).toString('hex')}`,
        clientId,
        grant.scopes,
      );
      return { ...mint(refresh, expiresInMs, minting()), refresh_token: refresh.token };
    },

    authenticate: (header) => authenticate(header, accessTokens, clock.now()),

    issueGrantCode(scopes = DEFAULT_SCOPES) {
      const code = `sandbox-grant-${randomBytes(16).toString('hex')}`;
      grantCodes.set(code, {
        expiresAt: clock.now() + GRANT_CODE_TTL_MS,
        used: false,
        clientId: options.credentials.clientId,
        scopes,
      });
      return code;
    },

    snapshot: () => snapshotOf(clock.now(), { clients, refreshTokens, accessTokens, grantCodes }),
    maps: { refreshTokens, accessTokens, grantCodes },
  };
}

/** An access token from `refresh`, within Zoho's minting limits; the token answer's JSON. */
function mint(
  refresh: RefreshTokenState,
  expiresInMs: boolean,
  server: {
    now: number;
    tokenTtlSeconds: number;
    apiUrl: string;
    accessTokens: Map<string, AccessTokenState>;
  },
): Record<string, unknown> {
  const { now, tokenTtlSeconds, apiUrl, accessTokens } = server;
  // A window opens with the first mint after the last one closed. Its 11th request is refused,
  // and so is every request until the window closes: Zoho blocks for the rest of the window.
  if (!refresh.window || now - refresh.window.openedAt >= MINT_WINDOW_MS)
    refresh.window = { openedAt: now, mints: 0 };
  if (refresh.window.mints >= MINTS_PER_WINDOW) {
    return {
      error: 'Access Denied',
      error_description: 'You have made too many requests continuously. Please try again after some time.',
      status: 'failure',
    };
  }
  const alive = refresh.minted.filter((t) => isAlive(t, now));
  if (alive.length >= MAX_ALIVE_TOKENS && alive[0]) alive[0].invalidated = true; // silently, as Zoho does
  const token: AccessTokenState = {
    token: `sandbox-at-${randomBytes(16).toString('hex')}`,
    refreshToken: refresh.token,
    scopes: refresh.scopes,
    issuedAt: now,
    expiresAt: now + tokenTtlSeconds * 1000,
    invalidated: false,
  };
  accessTokens.set(token.token, token);
  refresh.window.mints += 1;
  // Only the tokens still alive count (15 per refresh token); the window counts mints itself.
  refresh.minted = [...refresh.minted.filter((t) => isAlive(t, now)), token];
  return {
    access_token: token.token,
    scope: refresh.scopes.join(' '),
    api_domain: apiUrl,
    token_type: 'Bearer',
    // ⚠ zoho-api.md: some accounts send expires_in in milliseconds plus expires_in_sec.
    ...(expiresInMs
      ? { expires_in: tokenTtlSeconds * 1000, expires_in_sec: tokenTtlSeconds }
      : { expires_in: tokenTtlSeconds }),
  };
}

/** Checks an `Authorization` header against the tokens minted. */
function authenticate(
  header: string | undefined,
  accessTokens: Map<string, AccessTokenState>,
  now: number,
): AuthResult {
  if (!header) return { ok: false, code: 'INVALID_TOKEN' };
  const space = header.indexOf(' ');
  const scheme = space < 0 ? header : header.slice(0, space);
  if (scheme.toLowerCase() !== TOKEN_SCHEME) return { ok: false, code: 'AUTHENTICATION_FAILURE' };
  const token = accessTokens.get(header.slice(space + 1).trim());
  if (!token || !isAlive(token, now)) return { ok: false, code: 'INVALID_TOKEN' };
  return { ok: true, token: token.token, scopes: token.scopes };
}

/** What `inspect()` shows of the accounts server: no whole token, secret or code. */
function snapshotOf(
  now: number,
  state: {
    clients: Map<string, string>;
    refreshTokens: Map<string, RefreshTokenState>;
    accessTokens: Map<string, AccessTokenState>;
    grantCodes: Map<string, { expiresAt: number; used: boolean }>;
  },
): OAuthSnapshot {
  const { clients, refreshTokens, accessTokens, grantCodes } = state;
  return {
    clients: [...clients.keys()].map((clientId) => ({ clientId })),
    refreshTokens: [...refreshTokens.values()].map((r) => ({
      token: redact(r.token),
      clientId: r.clientId,
      createdTime: zohoTime(r.createdAt),
      mintedInWindow: r.window && now - r.window.openedAt < MINT_WINDOW_MS ? r.window.mints : 0,
      alive: r.minted.filter((t) => isAlive(t, now)).length,
    })),
    accessTokens: [...accessTokens.values()].map((t) => ({
      token: redact(t.token),
      refreshToken: redact(t.refreshToken),
      issuedTime: zohoTime(t.issuedAt),
      expiresTime: zohoTime(t.expiresAt),
      state: t.invalidated ? 'invalidated' : now >= t.expiresAt ? 'expired' : 'alive',
    })),
    grantCodes: [...grantCodes.entries()].map(([code, g]) => ({
      code: redact(code),
      expiresTime: zohoTime(g.expiresAt),
      used: g.used,
    })),
  };
}

const isAlive = (t: AccessTokenState, now: number) => !t.invalidated && now < t.expiresAt;

/** Read-only views show a token's start only. */
export function redact(secret: string): string {
  return secret.length <= 14 ? '…' : `${secret.slice(0, 14)}…`;
}
