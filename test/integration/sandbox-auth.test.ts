/** The sandbox's accounts host, its gatekeeping (tokens, hosts, versions, concurrency), faults and admin endpoints. */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FailNext, type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, fileForm, mintToken, postForm, refreshParams, tokenRequest } from './sandbox-helpers.ts';

const INVALID_TOKEN = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
const INVALID_URL = {
  code: 'INVALID_URL_PATTERN',
  details: {},
  message: 'Please check if the URL trying to access is a correct one',
  status: 'error',
};
const MINUTE = 60_000;

async function withSandbox<T>(run: (sandbox: Sandbox) => Promise<T>, options = {}): Promise<T> {
  const sandbox = await startSandbox({ port: 0, ...options });
  try {
    return await run(sandbox);
  } finally {
    await sandbox.close();
  }
}

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
});
afterAll(() => sb?.close());

describe('accounts host', () => {
  it('mints an access token from the refresh token, with api_domain and expires_in in seconds', async () => {
    const answer = await tokenRequest(sb, refreshParams(sb));
    expect(answer).toMatchObject({ api_domain: sb.apiUrl, token_type: 'Bearer', expires_in: 3600 });
    expect(answer.access_token).toMatch(/^sandbox-at-[0-9a-f]{32}$/);
    expect(sb.credentials.clientId).toBe('sandbox-client-id');
    expect(sb.credentials.refreshToken).toMatch(/^sandbox-/);
    const org = await client(sb, answer.access_token as string)('/crm/v8/org');
    expect(((await org.json()) as { org: Array<{ zgid: string }> }).org[0]?.zgid).toMatch(/^\d+$/);
  });

  it.each([
    ['an unknown client id', { client_id: 'someone-else' }, 'invalid_client'],
    ['a wrong client secret', { client_secret: 'sandbox-wrong' }, 'invalid_client_secret'],
    ['an unknown refresh token', { refresh_token: 'sandbox-rt-unknown' }, 'invalid_code'],
    ['an unknown grant type', { grant_type: 'password' }, 'unsupported_grant_type'],
  ])('answers %s with HTTP 200 and an error key', async (_what, change, error) => {
    expect(await tokenRequest(sb, { ...refreshParams(sb), ...change })).toEqual({ error });
  });

  it('mints at most 10 tokens per refresh token in 10 minutes, then again once the window has moved', () =>
    withSandbox(async (sandbox) => {
      for (let i = 0; i < 10; i += 1) await mintToken(sandbox);
      expect(await tokenRequest(sandbox, refreshParams(sandbox))).toEqual({
        error: 'Access Denied',
        error_description: 'You have made too many requests continuously. Please try again after some time.',
        status: 'failure',
      });
      sandbox.clock.advance(10 * MINUTE);
      expect(await mintToken(sandbox)).toMatch(/^sandbox-at-/);
    }));

  it('once it says Access Denied, refuses every mint until the ten-minute window ends', () =>
    withSandbox(async (sandbox) => {
      await mintToken(sandbox);
      sandbox.clock.advance(5 * MINUTE);
      for (let i = 0; i < 9; i += 1) await mintToken(sandbox);
      expect((await tokenRequest(sandbox, refreshParams(sandbox))).error).toBe('Access Denied');
      // A rolling count would free a slot here, 10 minutes after the first mint; Zoho's window has ended too.
      sandbox.clock.advance(5 * MINUTE - 1_000);
      expect((await tokenRequest(sandbox, refreshParams(sandbox))).error).toBe('Access Denied');
      sandbox.clock.advance(1_000);
      for (let i = 0; i < 10; i += 1) expect(await mintToken(sandbox)).toMatch(/^sandbox-at-/);
    }));

  it('keeps 15 tokens alive: the 16th silently invalidates the oldest', () =>
    withSandbox(async (sandbox) => {
      const tokens: string[] = [];
      for (let i = 0; i < 10; i += 1) tokens.push(await mintToken(sandbox));
      sandbox.clock.advance(10 * MINUTE);
      for (let i = 0; i < 6; i += 1) tokens.push(await mintToken(sandbox));
      const oldest = await client(sandbox, tokens[0] ?? '')('/crm/v8/org');
      expect(oldest.status).toBe(401);
      expect(await oldest.json()).toEqual(INVALID_TOKEN);
      expect((await client(sandbox, tokens[1] ?? '')('/crm/v8/org')).status).toBe(200);
      expect((await client(sandbox, tokens[15] ?? '')('/crm/v8/org')).status).toBe(200);
    }));

  it('expires access tokens on the sandbox clock', () =>
    withSandbox(async (sandbox) => {
      const call = client(sandbox, await mintToken(sandbox));
      sandbox.clock.advance(3599_000);
      expect((await call('/crm/v8/org')).status).toBe(200);
      sandbox.clock.advance(1000);
      const expired = await call('/crm/v8/org');
      expect(expired.status).toBe(401);
      expect(await expired.json()).toEqual(INVALID_TOKEN);
    }));

  it('exchanges a grant code once, within its 3 minutes', async () => {
    const exchange = (code: string) =>
      tokenRequest(sb, {
        grant_type: 'authorization_code',
        client_id: sb.credentials.clientId,
        client_secret: sb.credentials.clientSecret,
        code,
      });
    const code = sb.issueGrantCode();
    const first = await exchange(code);
    expect(first).toMatchObject({ api_domain: sb.apiUrl, expires_in: 3600 });
    expect(first.refresh_token).toMatch(/^sandbox-rt-/);
    expect(await exchange(code)).toEqual({ error: 'invalid_code' });
    // The new refresh token works like the configured one.
    const refreshed = await tokenRequest(sb, {
      ...refreshParams(sb),
      refresh_token: first.refresh_token as string,
    });
    expect(refreshed.access_token).toMatch(/^sandbox-at-/);

    const late = sb.issueGrantCode();
    sb.clock.advance(3 * MINUTE);
    expect(await exchange(late)).toEqual({ error: 'invalid_code' });
  });

  it('checks the scopes of a token on every call: search needs ZohoSearch.securesearch.READ (OAUTH_SCOPE_MISMATCH)', async () => {
    const granted = await tokenRequest(sb, {
      grant_type: 'authorization_code',
      client_id: sb.credentials.clientId,
      client_secret: sb.credentials.clientSecret,
      code: sb.issueGrantCode(['ZohoCRM.modules.leads.ALL']),
    });
    expect(granted.scope).toBe('ZohoCRM.modules.leads.ALL');
    const call = client(sb, granted.access_token as string);
    const leadId = sb.seed.Leads?.[0] ?? '';
    expect((await call(`/crm/v8/Leads/${leadId}/Attachments?fields=id`)).status).toBeLessThan(300);
    const search = await call('/crm/v8/Leads/search?email=a@example.com');
    expect(search.status).toBe(401);
    expect(await search.json()).toMatchObject({
      code: 'OAUTH_SCOPE_MISMATCH',
      details: { scope: 'ZohoSearch.securesearch.READ' },
    });
    const contacts = await call(`/crm/v8/Contacts/${sb.seed.Contacts?.[0] ?? ''}/Attachments?fields=id`);
    expect(await contacts.json()).toMatchObject({ code: 'OAUTH_SCOPE_MISMATCH' });
    expect((await call('/crm/v8/org')).status).toBe(401);
  });

  it('can send expires_in in milliseconds with expires_in_sec, as some accounts do', () =>
    withSandbox(
      async (sandbox) => {
        expect(await tokenRequest(sandbox, refreshParams(sandbox))).toMatchObject({
          expires_in: 3_600_000,
          expires_in_sec: 3600,
        });
      },
      { tokenExpiresInMs: true },
    ));
});

describe('API gatekeeping', () => {
  it('answers 401 INVALID_TOKEN without a token and AUTHENTICATION_FAILURE for another scheme', async () => {
    const none = await fetch(`${sb.apiUrl}/crm/v8/org`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(INVALID_TOKEN);
    const token = await mintToken(sb);
    const bearer = await fetch(`${sb.apiUrl}/crm/v8/org`, { headers: { authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(401);
    expect(await bearer.json()).toMatchObject({ code: 'AUTHENTICATION_FAILURE', status: 'error' });
  });

  it('serves each host its own paths only, v2 to v8, and 404 INVALID_URL_PATTERN for the rest', async () => {
    const call = client(sb, await mintToken(sb));
    expect((await call('/crm/v2/org')).status).toBe(200);
    expect((await call('/crm/v2.1/org')).status).toBe(200);
    for (const url of [
      `${sb.apiUrl}/crm/v9/org`,
      `${sb.apiUrl}/crm/v8/upload`,
      `${sb.uploadUrl}/crm/v8/org`,
      `${sb.accountsUrl}/crm/v8/org`,
      `${sb.url}/crm/v8/org`,
      `${sb.apiUrl}/crm/v8/Leads`,
    ]) {
      const response = await call(url, { method: url.endsWith('upload') ? 'POST' : 'GET' });
      expect(response.status, url).toBe(404);
      expect(await response.json()).toEqual(INVALID_URL);
    }
  });

  it('answers a wrong method with 400 INVALID_REQUEST_METHOD, as Zoho documents', async () => {
    const response = await client(sb, await mintToken(sb))('/crm/v8/org', { method: 'DELETE' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'INVALID_REQUEST_METHOD', status: 'error' });
  });

  it('refuses unknown modules and record ids', async () => {
    const call = client(sb, await mintToken(sb));
    const module = await call('/crm/v8/Unicorns/1234567890123456789/Attachments?fields=id');
    expect(module.status).toBe(400);
    expect(await module.json()).toMatchObject({ code: 'INVALID_MODULE', status: 'error' });
    for (const id of ['1234567890123456789', '12a4']) {
      const record = await call(`/crm/v8/Leads/${id}/Attachments?fields=id`);
      expect(record.status).toBe(400);
      expect(await record.json()).toEqual({
        code: 'INVALID_DATA',
        details: { id },
        message: 'the related id given seems to be invalid',
        status: 'error',
      });
    }
  });

  it('answers 429 TOO_MANY_REQUESTS, without Retry-After, over the concurrency limit', () =>
    withSandbox(
      async (sandbox) => {
        const token = await mintToken(sandbox);
        const leadId = sandbox.seed.Leads?.[0] ?? '';
        // Two uploads whose bodies are still coming keep two calls in flight.
        const held = [0, 1].map(() => {
          const req = request(`${sandbox.apiUrl}/crm/v8/Leads/${leadId}/Attachments`, {
            method: 'POST',
            headers: {
              authorization: `Zoho-oauthtoken ${token}`,
              'content-type': 'multipart/form-data; boundary=held',
            },
          });
          const answered = new Promise<number>((resolve, reject) => {
            req.on('response', (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            });
            req.on('error', reject);
          });
          req.write('--held\r\n');
          return { req, answered };
        });
        while (sandbox.inspect().concurrency.inFlight < 2) await new Promise((r) => setTimeout(r, 5));

        const refused = await client(sandbox, token)('/crm/v8/org');
        expect(refused.status).toBe(429);
        expect(refused.headers.get('retry-after')).toBeNull();
        expect(await refused.json()).toMatchObject({
          code: 'TOO_MANY_REQUESTS',
          details: {},
          status: 'error',
        });

        for (const { req } of held)
          req.end('Content-Disposition: form-data; name="other"\r\n\r\nx\r\n--held--\r\n');
        expect(await Promise.all(held.map((h) => h.answered))).toEqual([400, 400]); // no `file`: REQUIRED_PARAM_MISSING
        expect((await client(sandbox, token)('/crm/v8/org')).status).toBe(200);
      },
      { concurrencyLimit: 2 },
    ));
});

describe('faults', () => {
  it('fails the next matching calls with the given status and code, then lets them through', async () => {
    const call = client(sb, await mintToken(sb));
    sb.faults.set({ failNext: [{ status: 503, code: 'INTERNAL_ERROR', times: 2, path: '/org' }] });
    try {
      expect((await call('/crm/v8/Leads/search?email=nobody@example.invalid')).status).toBe(204);
      const failed = await call('/crm/v8/org');
      expect(failed.status).toBe(503);
      expect(await failed.json()).toMatchObject({ code: 'INTERNAL_ERROR', status: 'error' });
      expect((await call('/crm/v8/org')).status).toBe(503);
      expect((await call('/crm/v8/org')).status).toBe(200);
    } finally {
      sb.faults.reset();
    }
  });

  it('refuses a planned failure it could not answer, and keeps answering', async () => {
    const noStatus = [{ code: 'INTERNAL_ERROR' }] as unknown as FailNext[];
    expect(() => sb.faults.set({ failNext: noStatus })).toThrow(RangeError);
    expect(() => sb.faults.set({ failBulkJobs: -1 })).toThrow(RangeError);
    const refused = await fetch(`${sb.url}/__sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ failNext: [{ code: 'INTERNAL_ERROR', path: '/org' }] }),
    });
    expect(refused.status).toBe(400);
    expect(sb.inspect().faults.failNext).toEqual([]);
    // Faults apply before authentication: a planned failure would have answered this one.
    const anonymous = await fetch(`${sb.apiUrl}/crm/v8/org`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual(INVALID_TOKEN);
  });

  it('draws random 500s and 429s from a seeded PRNG: the same seed gives the same sequence', async () => {
    const call = client(sb, await mintToken(sb));
    const run = async () => {
      sb.faults.reset();
      sb.faults.set({ rate500: 0.3, rate429: 0.3, seed: 42 });
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) statuses.push((await call('/crm/v8/org')).status);
      sb.faults.reset();
      return statuses;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 429, 500]));
  });
});

describe('admin endpoints', () => {
  it('shows state and the request log without any full token', async () => {
    const token = await mintToken(sb);
    const call = client(sb, token);
    await postForm(
      call,
      `/crm/v8/Leads/${sb.seed.Leads?.[1]}/photo?restrict_triggers=workflow`,
      fileForm('not an image', 'x.png'),
    );
    const stateText = await (await fetch(`${sb.url}/__sandbox/state`)).text();
    const state = JSON.parse(stateText) as {
      seed: Record<string, string[]>;
      records: Record<string, unknown[]>;
    };
    expect(state.seed.Leads).toEqual(sb.seed.Leads);
    expect(state.seed.locked).toHaveLength(1);
    expect(state.records.Contacts).toHaveLength(3);
    const log = (await (await fetch(`${sb.url}/__sandbox/requests`)).json()) as Array<
      Record<string, unknown>
    >;
    const photo = log.findLast((entry) => String(entry.path).includes('/photo'));
    expect(photo).toMatchObject({
      method: 'POST',
      host: 'api',
      status: 400,
      code: 'INVALID_DATA',
      query: { restrict_triggers: 'workflow' },
      files: [{ field: 'file', fileName: 'x.png', size: 12 }],
    });
    expect((photo?.headers as Record<string, string> | undefined)?.authorization).toMatch(
      /^Zoho-oauthtoken sandbox-at-.{3}…$/,
    );
    for (const secret of [token, sb.credentials.refreshToken, sb.credentials.clientSecret]) {
      expect(stateText).not.toContain(secret);
      expect(JSON.stringify(log)).not.toContain(secret);
    }
  });

  it('moves the clock, creates records and sets faults over HTTP', async () => {
    const call = client(sb, await mintToken(sb));
    const created = await fetch(`${sb.url}/__sandbox/records`, {
      method: 'POST',
      body: JSON.stringify({ module: 'Vendors', fields: { Vendor_Name: 'Initech' } }),
    });
    const { id } = (await created.json()) as { id: string };
    expect(id).toMatch(/^\d{19}$/);
    const record = (await (await call(`/crm/v8/Vendors/${id}`)).json()) as {
      data: Array<Record<string, unknown>>;
    };
    expect(record.data[0]).toMatchObject({ id, Vendor_Name: 'Initech' });

    await fetch(`${sb.url}/__sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify({ failNext: [{ status: 500, code: 'INTERNAL_ERROR', pathRegex: '/org$' }] }),
    });
    expect((await call('/crm/v8/org')).status).toBe(500);
    expect((await call('/crm/v8/org')).status).toBe(200);

    await fetch(`${sb.url}/__sandbox/clock`, {
      method: 'POST',
      body: JSON.stringify({ advanceMs: 3_600_000 }),
    });
    expect((await call('/crm/v8/org')).status).toBe(401);
  });
});

describe('npm run sandbox', () => {
  it('prints its URLs, working credentials and seeded ids, and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['sandbox/main.ts'], { env: { ...process.env, PORT: '0' } });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('Ctrl+C')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
    });
    const value = (name: string) => new RegExp(`${name}=(\\S+)`).exec(out)?.[1] ?? '';
    const url = /sandbox at (http:\/\/\S+)/.exec(out)?.[1] ?? '';
    expect(out).toContain(`${url}/content`);
    expect(out).toMatch(/Leads\s+5725767000000412001/);
    const response = await fetch(`${url}/accounts/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: value('ZOHO_CLIENT_ID'),
        client_secret: value('ZOHO_CLIENT_SECRET'),
        refresh_token: value('ZOHO_REFRESH_TOKEN'),
      }),
    });
    expect(((await response.json()) as Record<string, unknown>).access_token).toMatch(/^sandbox-at-/);
    const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
