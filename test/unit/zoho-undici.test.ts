/**
 * functions/lib/zoho/undici.ts takes `Agent`, `request` and `errors` from undici's own modules
 * instead of its index: they are undici's very own, and `request` behaves as the index's does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, errors, request } from '#zoho/undici.ts';

let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe("undici's modules", () => {
  it('are the classes undici exports', () => {
    expect(Agent).toBe(undici.Agent);
    expect(errors).toBe(undici.errors);
  });

  it.each([
    ['our Agent', () => new Agent()],
    ["undici's Agent", () => new undici.Agent()],
  ])('request sends the path and query through %s', async (_name, makeDispatcher) => {
    const dispatcher = makeDispatcher();
    try {
      const response = await request(`${origin}/crm/v8/org?fields=a%20b`, { dispatcher, method: 'GET' });
      expect(response.statusCode).toBe(200);
      expect(await response.body.json()).toEqual({ method: 'GET', url: '/crm/v8/org?fields=a%20b' });
      const posted = await request(`${origin}/upload`, { dispatcher, method: 'POST', body: 'x' });
      expect(await posted.body.json()).toEqual({ method: 'POST', url: '/upload' });
    } finally {
      await dispatcher.close();
    }
  });

  it('refuses a URL undici cannot send to, as its index does', async () => {
    const dispatcher = new Agent();
    try {
      // Both throw before any promise (http.ts awaits the call inside its try).
      expect(() => request('ftp://example.test/x', { dispatcher, method: 'GET' })).toThrow(
        errors.InvalidArgumentError,
      );
      expect(() => undici.request('ftp://example.test/x', { dispatcher, method: 'GET' })).toThrow(
        errors.InvalidArgumentError,
      );
    } finally {
      await dispatcher.close();
    }
  });
});
