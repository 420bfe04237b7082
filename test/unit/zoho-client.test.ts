/**
 * The client against a fake server that answers precisely what a test needs: HTTP-200 errors,
 * a connection cut mid-upload, a refused connection, 401s. The real contract is exercised
 * against the sandbox in test/integration/zoho-client.test.ts.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { Agent, buildConnector } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ZohoAuthError,
  ZohoDeadlineError,
  ZohoNotFoundError,
  ZohoOutcomeUnknownError,
  ZohoRequestError,
  ZohoServerError,
  ZohoThrottledError,
} from '#zoho/errors.ts';
import { BodySourceError } from '#zoho/http.ts';
import { equalsCriteria, fieldEquals } from '#zoho/paths.ts';
import type { UploadFile } from '#zoho/types.ts';
import {
  clientFor,
  type FakeServer,
  json,
  readBody,
  startFakeServer,
  tokenAnswer,
} from './zoho-fake-server.ts';

const LEAD = { module: 'Leads', recordId: '1234567890123456789' };

let server: FakeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

type Route = (req: IncomingMessage, res: ServerResponse, n: number) => void | Promise<void>;

/** Tokens are always granted; other paths are answered by `route` (n counts requests to that route). */
async function fake(route: Route): Promise<FakeServer> {
  let n = 0;
  let tokens = 0;
  const started = await startFakeServer(async (req, res) => {
    if (req.url?.startsWith('/oauth/v2/token')) {
      await readBody(req);
      tokens += 1;
      tokenAnswer(res, started.url, `token-${tokens}`);
      return;
    }
    n += 1;
    await route(req, res, n);
  });
  server = started;
  return started;
}

function upload(content: Buffer, fileName = 'report.pdf'): UploadFile & { body: Readable } {
  return {
    body: Readable.from(chunks(content)),
    fileName,
    size: content.length,
    contentType: 'application/pdf',
  };
}

function* chunks(content: Buffer) {
  for (let at = 0; at < content.length; at += 64 * 1024) yield content.subarray(at, at + 64 * 1024);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('the client, precisely', () => {
  it('refuses a bad module or record id before sending anything, and frees the stream', async () => {
    const fakeServer = await fake((_req, res) => json(res, 500, {}));
    const client = clientFor(fakeServer);
    const file = upload(Buffer.from('x'));
    await expect(client.uploadAttachment({ module: 'Leads/../x', recordId: '1' }, file)).rejects.toThrow(
      ZohoRequestError,
    );
    expect(file.body.destroyed).toBe(true);
    await expect(client.listAttachments({ module: 'Leads', recordId: '12a' })).rejects.toThrow(/digits only/);
    await expect(client.listAttachments({ module: '1Leads', recordId: '1' })).rejects.toThrow(/API name/);
    await expect(client.getBulkWriteJob('1;drop')).rejects.toThrow(ZohoRequestError);
    await expect(client.searchRecords({ module: 'Leads', field: 'Last Name', value: 'x' })).rejects.toThrow(
      ZohoRequestError,
    );
    expect(fakeServer.seen).toHaveLength(0);
  });

  it('uploads an attachment as multipart with an exact Content-Length and returns its id', async () => {
    let received: Buffer = Buffer.alloc(0);
    const fakeServer = await fake(async (req, res) => {
      received = await readBody(req);
      // A bare 19-digit number, as a careless server could send it: the id must survive exact.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[{"code":"SUCCESS","details":{"id":9876543210987654321},"status":"success"}]}');
    });
    const content = Buffer.alloc(300_000, 7);
    const { id } = await clientFor(fakeServer).uploadAttachment(LEAD, upload(content, 'Résumé 東京.pdf'));
    expect(id).toBe('9876543210987654321');
    const [request] = fakeServer.to('/crm/v8/Leads/1234567890123456789/Attachments');
    expect(request?.method).toBe('POST');
    expect(request?.headers.authorization).toBe('Zoho-oauthtoken token-1');
    expect(Number(request?.headers['content-length'])).toBe(received.length);
    expect(request?.headers['transfer-encoding']).toBeUndefined();
    expect(received.includes(content)).toBe(true);
    expect(received.toString('latin1')).toContain(
      `filename*=UTF-8''R%C3%A9sum%C3%A9%20%E6%9D%B1%E4%BA%AC.pdf`,
    );
  });

  it('finds errors in HTTP 200 bodies, in each envelope', async () => {
    const answers = [
      { data: [{ code: 'INVALID_DATA', details: {}, message: 'invalid file type', status: 'error' }] },
      { status: 'error', code: 'INVALID_FILE_FORMAT', message: 'not a zip', details: {} },
      { ERROR_CODE: 'FILE_TOO_LARGE', ERROR_MESSAGE: 'too large' },
    ];
    const fakeServer = await fake(async (req, res, n) => {
      await readBody(req);
      if (req.url?.endsWith('/org')) return json(res, 200, { org: [{ zgid: '123456' }] });
      json(res, 200, answers.shift() ?? {}, n === 5 ? { 'x-error': 'INVALID_FILE_FORMAT' } : {});
    });
    const client = clientFor(fakeServer);
    await expect(client.uploadAttachment(LEAD, upload(Buffer.from('x')))).rejects.toMatchObject({
      zohoCode: 'INVALID_DATA',
      status: 200,
    });
    await expect(client.uploadBulkFile(upload(Buffer.from('PK')))).rejects.toMatchObject({
      zohoCode: 'INVALID_FILE_FORMAT',
      status: 200,
    });
    await expect(client.uploadBulkFile(upload(Buffer.from('PK')))).rejects.toMatchObject({
      zohoCode: 'FILE_TOO_LARGE',
    });
    await expect(client.uploadBulkFile(upload(Buffer.from('PK')))).rejects.toMatchObject({
      zohoCode: 'INVALID_FILE_FORMAT',
    });
    const uploads = fakeServer.to('/upload-host/crm/v8/upload');
    expect(uploads).toHaveLength(3);
    expect(uploads[0]?.headers).toMatchObject({ feature: 'bulk-write', 'x-crm-org': '123456' });
    expect(fakeServer.to('/crm/v8/org')).toHaveLength(1);
  });

  it('a connection cut mid-upload is an unknown outcome, never re-sent', async () => {
    const fakeServer = await fake((req) => {
      let got = 0;
      req.on('data', (chunk: Buffer) => {
        got += chunk.length;
        if (got > 100_000) req.socket.destroy();
      });
    });
    const file = upload(Buffer.alloc(1_000_000, 1));
    const error = await clientFor(fakeServer)
      .uploadAttachment(LEAD, file)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoOutcomeUnknownError);
    expect(fakeServer.to('/crm/')).toHaveLength(1);
    expect(file.body.destroyed).toBe(true);
  });

  it('a connection cut after the whole upload, before the answer, is an unknown outcome', async () => {
    const fakeServer = await fake(async (req) => {
      await readBody(req);
      req.socket.destroy();
    });
    await expect(clientFor(fakeServer).uploadPhoto(LEAD, upload(Buffer.alloc(1000)))).rejects.toBeInstanceOf(
      ZohoOutcomeUnknownError,
    );
    expect(fakeServer.to('/crm/')).toHaveLength(1);
  });

  it('a file stream that fails or falls short is its own error, not a Zoho outcome', async () => {
    const fakeServer = await fake(async (req) => {
      await readBody(req).catch(() => undefined);
    });
    const client = clientFor(fakeServer);
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1000));
        this.destroy(new Error('S3 connection reset'));
      },
    });
    const broken = await client
      .uploadAttachment(LEAD, { body: failing, fileName: 'a.pdf', size: 5000 })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(BodySourceError);
    expect((broken as Error).cause).toMatchObject({ message: 'S3 connection reset' });
    const short = await client
      .uploadAttachment(LEAD, { body: Readable.from([Buffer.alloc(10)]), fileName: 'a.pdf', size: 11 })
      .catch((e: unknown) => e);
    expect(short).toBeInstanceOf(BodySourceError);
    expect((short as Error).message).toMatch(/does not match its size/);
  });

  it('does not re-send a streamed upload after a 429 or a 5xx: it surfaces', async () => {
    const fakeServer = await fake(async (req, res, n) => {
      await readBody(req);
      if (n === 1)
        json(res, 429, { code: 'TOO_MANY_REQUESTS', details: {}, message: 'too many', status: 'error' });
      else json(res, 500, { code: 'INTERNAL_ERROR', details: {}, message: 'oops', status: 'error' });
    });
    const client = clientFor(fakeServer);
    await expect(client.uploadAttachment(LEAD, upload(Buffer.alloc(10)))).rejects.toBeInstanceOf(
      ZohoThrottledError,
    );
    await expect(client.uploadAttachment(LEAD, upload(Buffer.alloc(10)))).rejects.toBeInstanceOf(
      ZohoServerError,
    );
    expect(fakeServer.to('/crm/')).toHaveLength(2);
  });

  it('retries an upload whose connection was refused: not a byte was read, the same stream goes', async () => {
    let refused = 0;
    const connect = buildConnector({});
    // The upload host gets its own origin; its first connection is refused.
    const dispatcher = new Agent({
      connect(options, callback) {
        if (options.hostname === 'upload.test' && refused === 0) {
          refused += 1;
          callback(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), null);
          return;
        }
        connect({ ...options, hostname: '127.0.0.1' }, callback);
      },
    });
    let received: Buffer = Buffer.alloc(0);
    const fakeServer = await fake(async (req, res) => {
      if (req.url?.endsWith('/org')) return json(res, 200, { org: [{ zgid: '42' }] });
      received = await readBody(req);
      json(res, 200, { status: 'success', code: 'FILE_UPLOAD_SUCCESS', details: { file_id: '5550001' } });
    });
    const port = new URL(fakeServer.url).port;
    const client = clientFor(fakeServer, {
      dispatcher,
      hosts: { accountsUrl: fakeServer.url, apiUrl: fakeServer.url, uploadUrl: `http://upload.test:${port}` },
    });
    const content = Buffer.alloc(200_000, 3);
    await expect(client.uploadBulkFile(upload(content, 'leads.zip'))).resolves.toEqual({ fileId: '5550001' });
    expect(refused).toBe(1);
    const start = received.indexOf('\r\n\r\n') + 4;
    expect(sha256(received.subarray(start, start + content.length))).toBe(sha256(content));
  });

  it('retries GETs on 429, 5xx and a dropped connection, then succeeds', async () => {
    const fakeServer = await fake((req, res, n) => {
      if (n === 1)
        return json(res, 429, { code: 'TOO_MANY_REQUESTS', details: {}, message: 'm', status: 'error' });
      if (n === 2)
        return json(res, 503, { code: 'INTERNAL_ERROR', details: {}, message: 'm', status: 'error' });
      if (n === 3) {
        req.socket.destroy();
        return;
      }
      json(res, 200, {
        data: [{ id: '1', File_Name: 'a.pdf', Size: '12', Created_Time: '2026-01-01T00:00:00+00:00' }],
        info: { more_records: false },
      });
    });
    const list = await clientFor(fakeServer, {
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
    }).listAttachments(LEAD);
    expect(list).toEqual([
      { id: '1', fileName: 'a.pdf', size: 12, createdTime: '2026-01-01T00:00:00+00:00' },
    ]);
    expect(fakeServer.to('/crm/')).toHaveLength(4);
  });

  it('gives up after maxAttempts with the last failure', async () => {
    const fakeServer = await fake((_req, res) =>
      json(res, 500, { code: 'INTERNAL_ERROR', details: {}, message: 'm', status: 'error' }),
    );
    await expect(
      clientFor(fakeServer, { retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 } }).getOrgZgid(),
    ).rejects.toBeInstanceOf(ZohoServerError);
    expect(fakeServer.to('/crm/')).toHaveLength(3);
  });

  it('a JSON POST is re-sent after a 5xx, but not after a connection lost once it went out', async () => {
    const fakeServer = await fake(async (req, res, n) => {
      await readBody(req);
      if (n === 1)
        return json(res, 503, { code: 'INTERNAL_ERROR', details: {}, message: 'm', status: 'error' });
      if (n === 2) return json(res, 201, { status: 'success', code: 'SUCCESS', details: { id: '700' } });
      req.socket.destroy();
    });
    const client = clientFor(fakeServer);
    const spec = { operation: 'insert' as const, resource: [{ module: 'Leads', file_id: '5550001' }] };
    await expect(client.createBulkWriteJob(spec)).resolves.toEqual({ jobId: '700' });
    await expect(client.createBulkWriteJob(spec)).rejects.toBeInstanceOf(ZohoOutcomeUnknownError);
    expect(fakeServer.to('/crm/bulk/v8/write')).toHaveLength(3);
  });

  it('401 INVALID_TOKEN: one refresh, one more try; a second 401 is an auth error', async () => {
    const invalid = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
    const fakeServer = await fake((req, res, n) => {
      if (n === 1) return json(res, 401, invalid);
      if (n === 2) {
        expect(req.headers.authorization).toBe('Zoho-oauthtoken token-2');
        return json(res, 200, { org: [{ zgid: '77' }] });
      }
      json(res, 401, invalid);
    });
    const client = clientFor(fakeServer);
    await expect(client.getOrgZgid()).resolves.toBe('77');
    expect(fakeServer.to('/oauth/')).toHaveLength(2);
    await expect(client.getBulkWriteJob('1')).rejects.toBeInstanceOf(ZohoAuthError);
    expect(fakeServer.to('/oauth/')).toHaveLength(3);
  });

  it('a scope mismatch is an auth error at once, without a refresh', async () => {
    const fakeServer = await fake((_req, res) =>
      json(res, 401, { code: 'OAUTH_SCOPE_MISMATCH', details: {}, message: 'Unauthorized', status: 'error' }),
    );
    await expect(clientFor(fakeServer).getOrgZgid()).rejects.toBeInstanceOf(ZohoAuthError);
    expect(fakeServer.to('/oauth/')).toHaveLength(1);
  });

  it('a 401 during a streamed upload replaces the token and asks for the file again (retryable)', async () => {
    const fakeServer = await fake(async (req, res) => {
      await readBody(req);
      json(res, 401, { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' });
    });
    const error = await clientFor(fakeServer)
      .uploadAttachment(LEAD, upload(Buffer.alloc(100)))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoServerError);
    expect(error).toMatchObject({ zohoCode: 'INVALID_TOKEN', status: 401, retryable: true });
    expect(fakeServer.to('/oauth/')).toHaveLength(2);
    expect(fakeServer.to('/crm/')).toHaveLength(1);
  });

  it('a wrong secret (token error with HTTP 200) is an auth error, and nothing is called', async () => {
    server = await startFakeServer(async (req, res) => {
      await readBody(req);
      json(res, 200, { error: 'invalid_client_secret' });
    });
    await expect(clientFor(server).getOrgZgid()).rejects.toMatchObject({
      code: 'ZOHO_AUTH',
      zohoCode: 'invalid_client_secret',
    });
    expect(server.seen).toHaveLength(1);
  });

  it('stops at the deadline during a back-off, with the failure it was waiting out', async () => {
    const fakeServer = await fake((_req, res) =>
      json(res, 503, { code: 'INTERNAL_ERROR', details: {}, message: 'm', status: 'error' }),
    );
    const client = clientFor(fakeServer, {
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      random: () => 1,
    });
    const started = Date.now();
    const error = await client.getOrgZgid({ signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoDeadlineError);
    expect((error as Error).cause).toBeInstanceOf(ZohoServerError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('a deadline after an upload went out leaves its outcome unknown', async () => {
    const fakeServer = await fake(async (req) => {
      await readBody(req); // and never answer
    });
    const error = await clientFor(fakeServer)
      .uploadAttachment(LEAD, upload(Buffer.alloc(1000)), { signal: AbortSignal.timeout(300) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoOutcomeUnknownError);
  });

  it('pages through attachments and treats 204 as none', async () => {
    const fakeServer = await fake((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (url.pathname.includes('/Leads/1/')) {
        res.writeHead(204);
        res.end();
        return;
      }
      expect(url.searchParams.get('fields')).toBe('id,File_Name,Size,Created_Time,$link_url');
      expect(url.searchParams.get('per_page')).toBe('200');
      const page = Number(url.searchParams.get('page'));
      json(res, 200, {
        data: [{ id: `${page}00000000000000000`, File_Name: `p${page}.pdf`, Size: page, Created_Time: 't' }],
        info: { more_records: page < 2, page },
      });
    });
    const client = clientFor(fakeServer);
    expect((await client.listAttachments(LEAD)).map((a) => a.fileName)).toEqual(['p1.pdf', 'p2.pdf']);
    expect(await client.listAttachments({ module: 'Leads', recordId: '1' })).toEqual([]);
  });

  it('maps a missing record or module to ZohoNotFoundError', async () => {
    const fakeServer = await fake((req, res) =>
      req.url?.includes('/Nope/')
        ? json(res, 400, {
            code: 'INVALID_MODULE',
            details: {},
            message: 'the module name given seems to be invalid',
            status: 'error',
          })
        : json(res, 400, {
            code: 'INVALID_DATA',
            details: {},
            message: 'the related id given seems to be invalid',
            status: 'error',
          }),
    );
    const client = clientFor(fakeServer);
    await expect(client.listAttachments({ module: 'Nope', recordId: '1' })).rejects.toBeInstanceOf(
      ZohoNotFoundError,
    );
    await expect(client.listAttachments(LEAD)).rejects.toMatchObject({
      code: 'ZOHO_NOT_FOUND',
      zohoCode: 'INVALID_DATA',
    });
  });

  it('searches with escaped criteria and keeps exact matches only', async () => {
    const fakeServer = await fake((req, res) => {
      const url = new URL(req.url ?? '', 'http://x');
      if (url.searchParams.has('email')) {
        return json(res, 200, {
          data: [
            { id: '1', Email: 'Ann@Example.com' },
            { id: '2', Email: 'ann@example.com.evil' },
          ],
          info: { more_records: false },
        });
      }
      if (url.searchParams.get('criteria')?.includes('Nobody')) {
        res.writeHead(204);
        res.end();
        return;
      }
      json(res, 200, {
        data: [
          { id: '3', Last_Name: 'O(Brien), Jr\\' },
          { id: '4', Last_Name: 'O(Brien), Jr\\ the second' },
        ],
        info: { more_records: false },
      });
    });
    const client = clientFor(fakeServer);
    const byName = await client.searchRecords({
      module: 'Leads',
      field: 'Last_Name',
      value: 'O(Brien), Jr\\',
    });
    expect(byName.map((r) => r.id)).toEqual(['3']);
    const criteria = fakeServer.seen.at(-1)?.url ?? '';
    expect(criteria).toContain('criteria=%28Last_Name%3Aequals%3AO%5C%28Brien%5C%29%5C%2C%20Jr%5C%5C%29');
    const byEmail = await client.searchRecords({
      module: 'Contacts',
      field: 'Email',
      value: 'ann@example.com',
    });
    expect(byEmail.map((r) => r.id)).toEqual(['1']);
    expect(fakeServer.seen.at(-1)?.url).toContain('/crm/v8/Contacts/search?email=ann%40example.com');
    expect(await client.searchRecords({ module: 'Leads', field: 'Last_Name', value: 'Nobody' })).toEqual([]);
  });

  it('maps a bulk write job, ids and counts included', async () => {
    const fakeServer = await fake((_req, res) =>
      json(res, 200, {
        id: '111111000001492610',
        status: 'COMPLETED',
        operation: 'insert',
        resource: [
          {
            status: 'COMPLETED',
            type: 'data',
            module: { api_name: 'Leads', id: '1' },
            file: {
              status: 'COMPLETED',
              name: 'Leads.csv',
              added_count: 3,
              skipped_count: 1,
              updated_count: 0,
              total_count: 4,
            },
          },
        ],
        result: { download_url: '/crm/bulk/v8/write/111111000001492610/result.zip' },
      }),
    );
    expect(await clientFor(fakeServer).getBulkWriteJob('111111000001492610')).toEqual({
      id: '111111000001492610',
      status: 'COMPLETED',
      resources: [
        { module: 'Leads', status: 'COMPLETED', counts: { added: 3, updated: 0, skipped: 1, total: 4 } },
      ],
      downloadUrl: '/crm/bulk/v8/write/111111000001492610/result.zip',
    });
  });

  it.each([
    ['INPROGRESS', 'IN PROGRESS'],
    ['in_progress', 'IN PROGRESS'],
    ['SKIPPED', 'SKIPPED'],
    ['QUEUED_FOR_LATER', 'QUEUED FOR LATER'],
  ])('takes the job status %s (Zoho’s examples and spec spell more than four) as %s', async (sent, seen) => {
    const fakeServer = await fake((_req, res) => json(res, 200, { id: '1', status: sent, resource: [] }));
    expect((await clientFor(fakeServer).getBulkWriteJob('1')).status).toBe(seen);
  });

  it('downloads a result as a stream, and never sends the token to a foreign host', async () => {
    const fakeServer = await fake((req, res) => {
      expect(req.headers.authorization).toBe('Zoho-oauthtoken token-1');
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.end(Buffer.from('PK-result'));
    });
    const client = clientFor(fakeServer);
    const stream = await client.downloadBulkWriteResult('/crm/bulk/v8/write/1/result.zip');
    const bytes: Buffer[] = [];
    for await (const chunk of stream) bytes.push(chunk as Buffer);
    expect(Buffer.concat(bytes).toString()).toBe('PK-result');
    await expect(client.downloadBulkWriteResult('https://evil.example.com/x.zip')).rejects.toBeInstanceOf(
      ZohoRequestError,
    );
    expect(fakeServer.to('/crm/')).toHaveLength(1);
  });

  it('sends the token for a result only to Zoho domains, never to a look-alike host', async () => {
    const asked: string[] = [];
    const connect = buildConnector({});
    // Every host but the fake server is refused here: nothing leaves this machine.
    const dispatcher = new Agent({
      connect(options, callback) {
        asked.push(options.hostname);
        if (options.hostname === '127.0.0.1') return connect(options, callback);
        callback(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), null);
      },
    });
    const fakeServer = await fake((_req, res) => json(res, 500, {}));
    const client = clientFor(fakeServer, { dispatcher, retry: { maxAttempts: 1 } });
    for (const lookAlike of [
      'https://zoho.evil.example/x.zip',
      'https://download.zoho.com.evil.example/x.zip',
      'https://www.zohoapis.eu.evil.example/x.zip',
    ]) {
      await expect(client.downloadBulkWriteResult(lookAlike)).rejects.toBeInstanceOf(ZohoRequestError);
    }
    expect(asked.filter((host) => host !== '127.0.0.1')).toEqual([]);
    for (const zohoHost of ['download-accl.zoho.com', 'content.zohoapis.com.au', 'download.zohocloud.ca']) {
      await expect(client.downloadBulkWriteResult(`https://${zohoHost}/r.zip`)).rejects.not.toBeInstanceOf(
        ZohoRequestError,
      );
    }
    expect(asked.filter((host) => host !== '127.0.0.1')).toEqual([
      'download-accl.zoho.com',
      'content.zohoapis.com.au',
      'download.zohocloud.ca',
    ]);
  });

  it('a bulk ZIP stream that fails while the zgid is fetched is reported, not an uncaught error', async () => {
    const fakeServer = await fake(async (req, res) => {
      if (req.url?.endsWith('/org')) {
        await new Promise((resolve) => setTimeout(resolve, 30));
        return json(res, 200, { org: [{ zgid: '42' }] });
      }
      json(res, 200, { status: 'success', code: 'FILE_UPLOAD_SUCCESS', details: { file_id: '1' } });
    });
    const client = clientFor(fakeServer);
    const file = upload(Buffer.from('PK zip bytes'));
    const pending = client.uploadBulkFile(file);
    setTimeout(() => file.body.destroy(new Error('S3 connection reset')), 5);
    const error = await pending.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BodySourceError);
    expect((error as BodySourceError).cause).toMatchObject({ message: 'S3 connection reset' });
    expect(fakeServer.to('/upload-host')).toHaveLength(0);
  });

  it('keeps at most maxInFlight calls at Zoho at once', async () => {
    let inFlight = 0;
    let peak = 0;
    const fakeServer = await fake(async (_req, res) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      json(res, 200, { org: [{ zgid: '1' }] });
    });
    const client = clientFor(fakeServer, { maxInFlight: 2 });
    await Promise.all(Array.from({ length: 8 }, () => client.getBulkWriteJob('1').catch(() => undefined)));
    expect(peak).toBe(2);
  });
});

describe('search helpers', () => {
  it('escapes backslash, parentheses and commas in criteria', () => {
    expect(equalsCriteria('Last_Name', 'a(b),c\\d')).toBe('(Last_Name:equals:a\\(b\\)\\,c\\\\d)');
  });

  it('compares exactly, emails case-insensitively', () => {
    expect(fieldEquals('Ann', 'ann', false)).toBe(false);
    expect(fieldEquals('Ann@X.com', 'ann@x.com', true)).toBe(true);
    expect(fieldEquals(42, '42', false)).toBe(true);
    expect(fieldEquals({ name: 'x' }, 'x', false)).toBe(false);
  });
});
