/**
 * A tiny HTTP server on 127.0.0.1:0 for the client's unit tests: each test says how every
 * request is answered (or the connection cut), and what arrived is kept for assertions.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createZohoClient, type ZohoClientOptions } from '#zoho/client.ts';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  bodyBytes: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void | Promise<void>;

export interface FakeServer {
  url: string;
  seen: SeenRequest[];
  /** Requests to paths that start with this. */
  to(pathPrefix: string): SeenRequest[];
  close(): Promise<void>;
}

export async function startFakeServer(handler: Handler): Promise<FakeServer> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const entry: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes: 0,
    };
    seen.push(entry);
    req.on('data', (chunk: Buffer) => {
      entry.bodyBytes += chunk.length;
    });
    Promise.resolve(handler(req, res, entry)).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    to: (prefix) => seen.filter((r) => r.url.startsWith(prefix)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Answers the token endpoint with a good token; `api_domain` points back at this server. */
export function tokenAnswer(res: ServerResponse, base: string, token = 'token-a', expiresInSec = 3600): void {
  json(res, 200, { access_token: token, api_domain: base, token_type: 'Bearer', expires_in: expiresInSec });
}

export const TEST_CREDENTIALS = {
  clientId: 'test-client',
  clientSecret: 'test-secret',
  refreshToken: 'test-refresh',
};

/** A client pointed at the fake server, with instant back-off. */
export function clientFor(server: { url: string }, overrides: Partial<ZohoClientOptions> = {}) {
  return createZohoClient({
    hosts: { accountsUrl: server.url, apiUrl: server.url, uploadUrl: `${server.url}/upload-host` },
    credentials: TEST_CREDENTIALS,
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...overrides,
  });
}
