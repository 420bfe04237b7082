import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Log } from '#lib/log.ts';
import { createMemoryTokenStore, createTokenProvider, readTokenAnswer } from '#zoho/auth.ts';
import { ZohoAuthError, ZohoProtocolError, ZohoServerError, ZohoThrottledError } from '#zoho/errors.ts';
import type { AccessToken, TokenStore } from '#zoho/types.ts';
import { type FakeServer, json, readBody, startFakeServer, TEST_CREDENTIALS } from './zoho-fake-server.ts';

const NOW = 1_700_000_000_000;

describe('the token answer', () => {
  it.each([
    ['invalid_code', ZohoAuthError],
    ['invalid_client', ZohoAuthError],
    ['invalid_client_secret', ZohoAuthError],
    ['Access Denied', ZohoThrottledError],
  ])('treats {"error":"%s"} with HTTP 200 as an error', (code, type) => {
    const text = JSON.stringify({
      error: code,
      error_description: 'You have made too many requests continuously',
    });
    const error = (() => {
      try {
        readTokenAnswer(200, text);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ zohoCode: code, status: 200 });
  });

  it('maps what is not JSON by status', () => {
    expect(() => readTokenAnswer(502, '<html>')).toThrow(ZohoServerError);
    expect(() => readTokenAnswer(200, '<html>')).toThrow(ZohoProtocolError);
    expect(() => readTokenAnswer(429, '')).toThrow(ZohoThrottledError);
  });
});

describe('the token provider', () => {
  let server: FakeServer | undefined;
  const dispatcher = new Agent();
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function recordingLog(): Log & { lines: string[] } {
    const lines: string[] = [];
    const add = (message: string, ...extra: object[]) => lines.push(`${message} ${JSON.stringify(extra)}`);
    return { lines, debug: add, info: add, warn: add, error: add };
  }

  async function tokenServer(answer: (n: number) => unknown, delayMs = 0) {
    let n = 0;
    server = await startFakeServer(async (req, res) => {
      await readBody(req);
      n += 1;
      const count = n;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      json(res, 200, answer(count));
    });
    return server;
  }

  function provider(url: string, extra: Partial<Parameters<typeof createTokenProvider>[0]> = {}) {
    return createTokenProvider({
      accountsUrl: url,
      defaultApiDomain: url,
      credentials: TEST_CREDENTIALS,
      dispatcher,
      log: recordingLog(),
      ...extra,
    });
  }

  it('reads a token, its API domain and its lifetime in seconds', async () => {
    const fake = await tokenServer(() => ({
      access_token: 'a',
      api_domain: 'http://x/api/',
      expires_in: 3600,
    }));
    expect(await provider(fake.url, { now: () => NOW }).current()).toEqual({
      accessToken: 'a',
      apiDomain: 'http://x/api',
      expiresAt: NOW + 3_600_000,
    });
  });

  it('prefers expires_in_sec: expires_in may then be milliseconds', async () => {
    const fake = await tokenServer(() => ({
      access_token: 'a',
      expires_in: 3_600_000,
      expires_in_sec: 3600,
    }));
    expect(await provider(fake.url, { now: () => NOW }).current()).toMatchObject({
      apiDomain: fake.url,
      expiresAt: NOW + 3_600_000,
    });
  });

  it('makes exactly one token request for 50 concurrent callers on a cold process', async () => {
    const fake = await tokenServer(
      (n) => ({ access_token: `token-${n}`, api_domain: 'http://api', expires_in: 3600 }),
      30,
    );
    const tokens = provider(fake.url);
    const got = await Promise.all(Array.from({ length: 50 }, () => tokens.current()));
    expect(fake.seen).toHaveLength(1);
    expect(new Set(got.map((t) => t.accessToken))).toEqual(new Set(['token-1']));
    expect(fake.seen[0]).toMatchObject({ method: 'POST', url: '/oauth/v2/token' });
  });

  it('sends the refresh-token grant as a form body and never logs a secret or a token', async () => {
    let form = '';
    server = await startFakeServer(async (req, res) => {
      form = (await readBody(req)).toString();
      json(res, 200, { access_token: 'secret-access-token', expires_in: 3600 });
    });
    const log = recordingLog();
    await provider(server.url, { log }).current();
    expect(Object.fromEntries(new URLSearchParams(form))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'test-client',
      client_secret: 'test-secret',
      refresh_token: 'test-refresh',
    });
    expect(log.lines.join('\n')).toContain('refreshed');
    expect(log.lines.join('\n')).not.toMatch(/secret-access-token|test-secret|test-refresh/);
  });

  it('refreshes ahead of expiry', async () => {
    let clock = NOW;
    const fake = await tokenServer((n) => ({ access_token: `token-${n}`, expires_in: 3600 }));
    const tokens = provider(fake.url, { now: () => clock });
    expect((await tokens.current()).accessToken).toBe('token-1');
    clock += 3600_000 - 6 * 60_000;
    expect((await tokens.current()).accessToken).toBe('token-1');
    clock += 2 * 60_000; // now within the 5-minute skew
    expect((await tokens.current()).accessToken).toBe('token-2');
  });

  it('while throttled, callers share the failure instead of asking again', async () => {
    let clock = NOW;
    const fake = await tokenServer((n) =>
      n === 1
        ? {
            error: 'Access Denied',
            error_description:
              'You have made too many requests continuously. Please try again after some time.',
            status: 'failure',
          }
        : { access_token: 'token-ok', expires_in: 3600 },
    );
    const tokens = provider(fake.url, { now: () => clock, throttleDelayMs: 60_000 });
    const all = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.current()));
    expect(all.every((r) => r.status === 'rejected' && r.reason instanceof ZohoThrottledError)).toBe(true);
    await expect(tokens.current()).rejects.toBeInstanceOf(ZohoThrottledError);
    clock += 59_000;
    await expect(tokens.current()).rejects.toBeInstanceOf(ZohoThrottledError);
    expect(fake.seen).toHaveLength(1);
    clock += 2_000;
    expect((await tokens.current()).accessToken).toBe('token-ok');
    expect(fake.seen).toHaveLength(2);
  });

  it('a refused token is replaced once, however many callers saw it refused', async () => {
    const fake = await tokenServer((n) => ({ access_token: `token-${n}`, expires_in: 3600 }), 20);
    const tokens = provider(fake.url);
    const first = await tokens.current();
    const replaced = await Promise.all(Array.from({ length: 10 }, () => tokens.replace(first)));
    expect(new Set(replaced.map((t) => t.accessToken))).toEqual(new Set(['token-2']));
    // A late caller that still holds the old token gets the new one without a mint.
    expect((await tokens.replace(first)).accessToken).toBe('token-2');
    expect(fake.seen).toHaveLength(2);
  });

  it('takes the token another container saved instead of minting its own', async () => {
    const fake = await tokenServer(() => ({ access_token: 'minted-here', expires_in: 3600 }));
    const shared: AccessToken = {
      accessToken: 'from-the-fleet',
      apiDomain: 'http://api',
      expiresAt: Date.now() + 3_600_000,
    };
    let polls = 0;
    const store: TokenStore = {
      get: async () => (polls >= 3 ? shared : undefined),
      put: async () => {},
      acquireLease: async () => {
        polls += 1;
        return false;
      },
      releaseLease: async () => {},
    };
    const tokens = provider(fake.url, { store, leasePollMs: 1 });
    expect((await tokens.current()).accessToken).toBe('from-the-fleet');
    expect(fake.seen).toHaveLength(0);
  });

  it('takes the token saved just before its lease was granted instead of minting a second', async () => {
    const fake = await tokenServer(() => ({ access_token: 'minted-here', expires_in: 3600 }));
    const shared: AccessToken = {
      accessToken: 'from-the-fleet',
      apiDomain: 'http://api',
      expiresAt: Date.now() + 3_600_000,
    };
    // The holder saves its token (which ends its lease) between this container's look and its lease.
    let saved: AccessToken | undefined;
    let released = 0;
    const store: TokenStore = {
      get: async () => saved,
      put: async () => {},
      acquireLease: async () => {
        saved = shared;
        return true;
      },
      releaseLease: async () => {
        released += 1;
      },
    };
    const tokens = provider(fake.url, { store });
    expect((await tokens.current()).accessToken).toBe('from-the-fleet');
    expect(fake.seen).toHaveLength(0);
    expect(released).toBe(1);
  });

  it('mints anyway when the lease holder never delivers', async () => {
    let clock = NOW;
    const fake = await tokenServer(() => ({ access_token: 'minted-here', expires_in: 3600 }));
    const saved: AccessToken[] = [];
    const store: TokenStore = {
      get: async () => undefined,
      put: async (t) => {
        saved.push(t);
      },
      acquireLease: async () => false,
      releaseLease: async () => {},
    };
    const log = recordingLog();
    const tokens = provider(fake.url, {
      store,
      log,
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      leaseWaitMs: 10_000,
      leasePollMs: 1_000,
    });
    expect((await tokens.current()).accessToken).toBe('minted-here');
    expect(fake.seen).toHaveLength(1);
    expect(saved.map((t) => t.accessToken)).toEqual(['minted-here']);
    expect(log.lines.join()).toContain('minting one here');
  });

  it('gives the lease back when the mint fails', async () => {
    const fake = await tokenServer(() => ({ error: 'invalid_client' }));
    let released = 0;
    const store = {
      ...createMemoryTokenStore(),
      releaseLease: async () => {
        released += 1;
      },
    };
    await expect(provider(fake.url, { store }).current()).rejects.toBeInstanceOf(ZohoAuthError);
    expect(released).toBe(1);
  });

  it('reads credentials from a function each time it mints', async () => {
    const fake = await tokenServer(() => ({ access_token: 't', expires_in: 3600 }));
    let asked = 0;
    const tokens = provider(fake.url, {
      credentials: async () => {
        asked += 1;
        return TEST_CREDENTIALS;
      },
    });
    await tokens.current();
    await tokens.current();
    expect(asked).toBe(1);
  });
});
