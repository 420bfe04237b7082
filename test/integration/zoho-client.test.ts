/**
 * The Zoho client against the sandbox on a real port: every call, every documented refusal,
 * tokens shared and refreshed, faults (429, 500, connections cut) and deadlines.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import { type Sandbox, type SandboxOptions, startSandbox } from '#sandbox/server.ts';
import { createZohoClient, type ZohoClientOptions } from '#zoho/client.ts';
import {
  ZohoAuthError,
  ZohoDeadlineError,
  ZohoNotFoundError,
  ZohoOutcomeUnknownError,
  ZohoRequestError,
  ZohoServerError,
  ZohoThrottledError,
} from '#zoho/errors.ts';
import type { UploadFile, ZohoClient } from '#zoho/types.ts';

const MB = 1024 * 1024;

let sandbox: Sandbox;
let client: ZohoClient;

async function useSandbox(options: SandboxOptions = {}, clientOptions: Partial<ZohoClientOptions> = {}) {
  await sandbox?.close();
  sandbox = await startSandbox({ port: 0, bulkJobStepMs: 20, ...options });
  client = clientOf(sandbox, clientOptions);
}

function clientOf(target: Sandbox, options: Partial<ZohoClientOptions> = {}): ZohoClient {
  return createZohoClient({
    hosts: { accountsUrl: target.accountsUrl, apiUrl: target.apiUrl, uploadUrl: target.uploadUrl },
    credentials: target.credentials,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
}

beforeEach(async () => {
  await useSandbox();
});
afterEach(async () => {
  await sandbox.close();
});

const lead = () => ({ module: 'Leads', recordId: sandbox.seed.Leads?.[0] ?? '' });
const requestsTo = (host: string) => sandbox.inspect().requests.filter((r) => r.host === host);
const tokenRequests = () => requestsTo('accounts').length;
/** An access token minted straight from the sandbox's accounts host, as another client would. */
const mint = async () =>
  (await (
    await fetch(`${sandbox.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: sandbox.credentials.clientId,
        client_secret: sandbox.credentials.clientSecret,
        refresh_token: sandbox.credentials.refreshToken,
      }),
    })
  ).json()) as { access_token: string };

function fileOf(content: Buffer, fileName: string, contentType?: string): UploadFile {
  return {
    body: Readable.from([content]),
    fileName,
    size: content.length,
    ...(contentType ? { contentType } : {}),
  };
}

/** A file made on the fly, 64 KiB at a time: never held whole. Its sha256 is known once it is read. */
function generatedFile(size: number, fileName: string): UploadFile & { sha256(): string } {
  const hash = createHash('sha256');
  let produced = 0;
  let block = 0;
  const body = new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(64 * 1024, size - produced), block % 251);
      if (chunk.length >= 4) chunk.writeUInt32BE(block);
      hash.update(chunk);
      produced += chunk.length;
      block += 1;
      this.push(chunk);
    },
  });
  return { body, fileName, size, contentType: 'application/pdf', sha256: () => hash.digest('hex') };
}

/** A PNG header (signature + IHDR) claiming the given size, padded to `bytes`. */
function png(width: number, height: number, bytes = 64): Buffer {
  const ihdr = Buffer.alloc(25);
  ihdr.writeUInt32BE(13, 0);
  ihdr.write('IHDR', 4, 'latin1');
  ihdr.writeUInt32BE(width, 8);
  ihdr.writeUInt32BE(height, 12);
  ihdr[16] = 8;
  ihdr[17] = 2;
  const head = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), ihdr]);
  return Buffer.concat([head, Buffer.alloc(Math.max(0, bytes - head.length))]);
}

function zipOf(name: string, content: string): Promise<Buffer> {
  const zip = new ZipFile();
  zip.addBuffer(Buffer.from(content), name);
  zip.end();
  return collect(zip.outputStream);
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function failure(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected the call to fail');
}

describe('attachments', () => {
  it('uploads, then lists what it uploaded', async () => {
    const { id } = await client.uploadAttachment(
      lead(),
      fileOf(Buffer.from('hello'), 'hello.txt', 'text/plain'),
    );
    expect(id).toMatch(/^\d{19}$/);
    const listed = await client.listAttachments(lead());
    expect(listed).toEqual([{ id, fileName: 'hello.txt', size: 5, createdTime: expect.any(String) }]);
    const [request] = sandbox.inspect().requests.filter((r) => r.path.endsWith('/Attachments'));
    expect(request?.headers['content-length']).toBe(String(request?.bodyBytes));
  });

  it('lists none as an empty list (204), and pages through many', async () => {
    expect(await client.listAttachments(lead())).toEqual([]);
    const other = { module: 'Contacts', recordId: sandbox.seed.Contacts?.[0] ?? '' };
    for (let i = 0; i < 3; i += 1)
      await client.uploadAttachment(other, fileOf(Buffer.from(`f${i}`), `f${i}.txt`));
    expect((await client.listAttachments(other)).map((a) => a.fileName).sort()).toEqual([
      'f0.txt',
      'f1.txt',
      'f2.txt',
    ]);
    const listCall = sandbox.inspect().requests.at(-1);
    expect(listCall?.query).toMatchObject({
      fields: 'id,File_Name,Size,Created_Time,$link_url',
      page: '1',
      per_page: '200',
    });
  });

  it('streams a large file with a non-ASCII name, byte for byte', async () => {
    const file = generatedFile(48 * MB + 123, 'Résumé 東京.pdf');
    const { id } = await client.uploadAttachment(lead(), file);
    const stored = sandbox.inspect().attachments.find((a) => a.id === id);
    expect(stored).toMatchObject({ fileName: 'Résumé 東京.pdf', size: 48 * MB + 123, sha256: file.sha256() });
  });

  it('refuses a module that does not exist (INVALID_MODULE) and a bad record id (INVALID_DATA)', async () => {
    const noModule = await failure(
      client.uploadAttachment({ module: 'Nope', recordId: '1' }, fileOf(Buffer.from('x'), 'x.txt')),
    );
    expect(noModule).toBeInstanceOf(ZohoNotFoundError);
    expect(noModule).toMatchObject({ zohoCode: 'INVALID_MODULE', status: 400 });
    const noRecord = await failure(client.listAttachments({ module: 'Leads', recordId: '123' }));
    expect(noRecord).toBeInstanceOf(ZohoNotFoundError);
    expect(noRecord).toMatchObject({ zohoCode: 'INVALID_DATA', status: 400 });
  });

  it('refuses an .exe (415 INVALID_DATA) and an oversize file (415 FILE_SIZE_MORE_THAN_ALLOWED_SIZE)', async () => {
    await useSandbox({ attachmentMaxBytes: MB });
    const exe = await failure(client.uploadAttachment(lead(), fileOf(Buffer.from('MZ'), 'setup.exe')));
    expect(exe).toBeInstanceOf(ZohoRequestError);
    expect(exe).toMatchObject({ zohoCode: 'INVALID_DATA', status: 415 });
    const big = await failure(client.uploadAttachment(lead(), generatedFile(2 * MB, 'big.pdf')));
    expect(big).toBeInstanceOf(ZohoRequestError);
    expect(big).toMatchObject({ zohoCode: 'FILE_SIZE_MORE_THAN_ALLOWED_SIZE', status: 415 });
    expect(sandbox.inspect().attachments).toEqual([]);
  });

  it('sends nothing for an unchecked module or id', async () => {
    await expect(client.listAttachments({ module: 'Leads/../org', recordId: '1' })).rejects.toBeInstanceOf(
      ZohoRequestError,
    );
    await expect(client.listAttachments({ module: 'Leads', recordId: '1?x=1' })).rejects.toBeInstanceOf(
      ZohoRequestError,
    );
    expect(sandbox.inspect().requests).toEqual([]);
  });
});

describe('file-upload fields', () => {
  it('uploads to ZFS, adds the file id to the field keeping the files there, reads the field and downloads a file', async () => {
    const first = Buffer.from('first bytes');
    const second = Buffer.from('second bytes, longer');
    expect(await client.getFieldFiles(lead(), 'Documents')).toEqual({ files: [] });
    const a = await client.uploadFieldFile(fileOf(first, 'a.pdf'));
    await client.addFieldFiles(lead(), 'Documents', [a.fileId]);
    const b = await client.uploadFieldFile(fileOf(second, 'b.pdf'));
    await client.addFieldFiles(lead(), 'Documents', [b.fileId]);
    const held = await client.getFieldFiles(lead(), 'Documents');
    if (!('files' in held)) throw new Error('expected files');
    expect(held.files.map((f) => [f.fileName, f.size, f.fileId])).toEqual([
      ['a.pdf', first.length, a.fileId],
      ['b.pdf', second.length, b.fileId],
    ]);
    const bytes = Buffer.concat(
      await (await client.downloadFieldFile(lead(), held.files[1]?.id ?? '')).toArray(),
    );
    expect(bytes).toEqual(second);
    const put = requestsTo('api').filter((r) => r.method === 'PUT');
    expect(put.map((r) => r.path)).toEqual([
      `/api/crm/v8/Leads/${lead().recordId}`,
      `/api/crm/v8/Leads/${lead().recordId}`,
    ]);
  });

  it('tells a field holding something else than files, and refuses a field name before any call', async () => {
    expect(await client.getFieldFiles(lead(), 'Last_Name')).toEqual({ notFiles: true });
    const before = requestsTo('api').length;
    await expect(client.getFieldFiles(lead(), 'Documents/../x')).rejects.toThrow(ZohoRequestError);
    await expect(client.addFieldFiles(lead(), 'Docu ments', ['1'])).rejects.toThrow(ZohoRequestError);
    expect(requestsTo('api').length).toBe(before);
  });

  it("carries Zoho's refusal of a file id in a field that is not a file-upload field (INVALID_DATA)", async () => {
    const { fileId } = await client.uploadFieldFile(fileOf(Buffer.from('x'), 'x.txt'));
    const error = await client.addFieldFiles(lead(), 'Description', [fileId]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoRequestError);
    expect(error).toMatchObject({ zohoCode: 'INVALID_DATA', retryable: false });
  });
});

describe('photos', () => {
  it('uploads a photo, with restrict_triggers when asked', async () => {
    await client.uploadPhoto(lead(), fileOf(png(200, 100), 'me.png', 'image/png'));
    await client.uploadPhoto(lead(), fileOf(png(200, 100), 'me.png', 'image/png'), {
      restrictTriggers: true,
    });
    const photoCalls = sandbox.inspect().requests.filter((r) => r.path.includes('/photo'));
    expect(photoCalls.map((r) => r.query.restrict_triggers)).toEqual([undefined, 'workflow']);
    expect(sandbox.inspect().photos[`Leads/${lead().recordId}`]).toMatchObject({
      format: 'png',
      width: 200,
      height: 100,
      restrictTriggers: 'workflow',
    });
  });

  it.each([
    ['not an image', () => fileOf(Buffer.from('plain text'), 'me.png'), 'INVALID_DATA', 400],
    [
      'over 10 MB',
      () => fileOf(png(100, 100, 10 * MB + 1), 'big.png'),
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
      415,
    ],
    [
      'over 10 megapixels',
      () => fileOf(png(4000, 3000), 'wide.png'),
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
      415,
    ],
  ])('refuses a photo %s', async (_what, file, zohoCode, status) => {
    const error = await failure(client.uploadPhoto(lead(), file()));
    expect(error).toBeInstanceOf(ZohoRequestError);
    expect(error).toMatchObject({ zohoCode, status });
  });

  it('refuses a photo on a locked record (RECORD_LOCKED)', async () => {
    const locked = { module: 'Leads', recordId: sandbox.seed.locked?.[0] ?? '' };
    const error = await failure(client.uploadPhoto(locked, fileOf(png(10, 10), 'me.png')));
    expect(error).toMatchObject({ code: 'ZOHO_REJECTED', zohoCode: 'RECORD_LOCKED', status: 400 });
  });

  it('refuses a module without photos', async () => {
    const note = { module: 'Notes', recordId: sandbox.seed.Notes?.[0] ?? '' };
    await expect(client.uploadPhoto(note, fileOf(png(10, 10), 'me.png'))).rejects.toMatchObject({
      zohoCode: 'INVALID_MODULE',
    });
  });
});

describe('bulk write', () => {
  it('goes all the way: zgid, upload, job, follow, result', async () => {
    expect(await client.getOrgZgid()).toBe(sandbox.inspect().org.zgid);
    const zip = await zipOf(
      'Leads.csv',
      'Last_Name,Email\nDoe,jane.doe@example.com\nRoe,rich.roe@example.com\n',
    );
    const { fileId } = await client.uploadBulkFile(fileOf(zip, 'Leads.zip', 'application/zip'));
    const upload = requestsTo('upload')[0];
    expect(upload?.headers).toMatchObject({ feature: 'bulk-write', 'x-crm-org': sandbox.inspect().org.zgid });
    const { jobId } = await client.createBulkWriteJob({
      operation: 'insert',
      ignore_empty: true,
      resource: [
        {
          module: 'Leads',
          file_id: fileId,
          field_mappings: [
            { api_name: 'Last_Name', index: 0 },
            { api_name: 'Email', index: 1 },
          ],
        },
      ],
    });
    let job = await client.getBulkWriteJob(jobId);
    for (let i = 0; i < 50 && job.status !== 'COMPLETED' && job.status !== 'FAILED'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      job = await client.getBulkWriteJob(jobId);
    }
    expect(job).toMatchObject({
      id: jobId,
      status: 'COMPLETED',
      resources: [{ module: 'Leads', counts: { added: 2, updated: 0, skipped: 0, total: 2 } }],
    });
    expect(job.downloadUrl).toBeDefined();
    const result = await collect(await client.downloadBulkWriteResult(job.downloadUrl ?? ''));
    expect(result.subarray(0, 2).toString()).toBe('PK');
    // The org's zgid is asked for once and kept.
    await client.uploadBulkFile(fileOf(zip, 'Leads.zip'));
    expect(sandbox.inspect().requests.filter((r) => r.path.endsWith('/org'))).toHaveLength(1);
  });

  it('the file host refusing the token ({"ERROR_CODE":401}) replaces the token and says to send again', async () => {
    const zip = await zipOf('Leads.csv', 'Last_Name\nDoe\n');
    await client.getOrgZgid();
    sandbox.clock.advance(3601 * 1000); // the token dies in Zoho's eyes, not in ours
    const refused = await failure(client.uploadBulkFile(fileOf(zip, 'Leads.zip')));
    expect(refused).toBeInstanceOf(ZohoServerError);
    expect(refused).toMatchObject({ zohoCode: '401', retryable: true });
    expect(tokenRequests()).toBe(2);
    expect((await client.uploadBulkFile(fileOf(zip, 'Leads.zip'))).fileId).toMatch(/^\d+$/);
    expect(tokenRequests()).toBe(2);
  });

  it('AUTHENTICATION_FAILURE from the API host refreshes once and sends once more; a scope refusal does not', async () => {
    await client.getOrgZgid();
    sandbox.faults.set({ failNext: [{ status: 401, code: 'AUTHENTICATION_FAILURE', path: '/Attachments' }] });
    expect(await client.listAttachments(lead())).toEqual([]);
    expect(tokenRequests()).toBe(2);
    sandbox.faults.set({ failNext: [{ status: 401, code: 'OAUTH_SCOPE_MISMATCH', path: '/Attachments' }] });
    await expect(client.listAttachments(lead())).rejects.toMatchObject({ zohoCode: 'OAUTH_SCOPE_MISMATCH' });
    expect(tokenRequests()).toBe(2);
  });

  it('finds upload errors answered with HTTP 200, in either envelope', async () => {
    const notZip = await failure(client.uploadBulkFile(fileOf(Buffer.from('not a zip'), 'x.zip')));
    expect(notZip).toBeInstanceOf(ZohoRequestError);
    expect(notZip).toMatchObject({ zohoCode: 'INVALID_FILE_FORMAT', status: 200 });

    sandbox.faults.set({ uploadErrorStyle: 'legacy-200' });
    const tooLarge = await failure(client.uploadBulkFile(generatedFile(26 * MB, 'big.zip')));
    expect(tooLarge).toBeInstanceOf(ZohoRequestError);
    // The body's x-error says what is wrong (crm-oas v8.0 bulk_write.json API_Exception).
    expect(tooLarge).toMatchObject({ zohoCode: '400', status: 200 });
    expect(tooLarge.message).toContain('Bad Request: The file size is too large to process.');

    sandbox.faults.set({ uploadErrorStyle: 'flat-400' });
    await expect(client.uploadBulkFile(fileOf(Buffer.from('nope'), 'x.zip'))).rejects.toMatchObject({
      zohoCode: 'INVALID_FILE_FORMAT',
      status: 400,
    });
    expect(sandbox.inspect().bulkFiles).toEqual([]);
  });

  it('refuses a job on a file id that does not exist (INVALID_FILE_ID)', async () => {
    const error = await failure(
      client.createBulkWriteJob({
        operation: 'insert',
        resource: [{ module: 'Leads', file_id: '1234567890' }],
      }),
    );
    expect(error).toBeInstanceOf(ZohoRequestError);
    expect(error).toMatchObject({ zohoCode: 'INVALID_FILE_ID', status: 400 });
  });
});

describe('search', () => {
  it('keeps exact matches only: v8 equals can behave like contains', async () => {
    sandbox.createRecord('Leads', { Last_Name: 'Love', Email: 'love@example.com' });
    const loose = await client.searchRecords({ module: 'Leads', field: 'Last_Name', value: 'Love' });
    expect(loose.map((r) => r.Last_Name)).toEqual(['Love']);
    const sandboxAnswered = sandbox.inspect().requests.at(-1);
    expect(sandboxAnswered?.status).toBe(200);
  });

  it('escapes (, ), comma and backslash in criteria', async () => {
    const id = sandbox.createRecord('Leads', { Last_Name: 'O(Brien), Jr\\' });
    const found = await client.searchRecords({
      module: 'Leads',
      field: 'Last_Name',
      value: 'O(Brien), Jr\\',
    });
    expect(found.map((r) => r.id)).toEqual([id]);
  });

  it('searches emails with email=, case-insensitively, and 204 is no match', async () => {
    const found = await client.searchRecords({
      module: 'Leads',
      field: 'Email',
      value: 'ADA.LOVELACE@example.com',
    });
    expect(found.map((r) => r.id)).toEqual([sandbox.seed.Leads?.[0]]);
    expect(sandbox.inspect().requests.at(-1)?.query).toMatchObject({ email: 'ADA.LOVELACE@example.com' });
    expect(
      await client.searchRecords({ module: 'Leads', field: 'Email', value: 'nobody@example.com' }),
    ).toEqual([]);
    expect(sandbox.inspect().requests.at(-1)?.status).toBe(204);
  });
});

describe('tokens', () => {
  it('makes one token request for 50 concurrent calls on a cold process', async () => {
    await Promise.all(Array.from({ length: 50 }, () => client.listAttachments(lead())));
    expect(tokenRequests()).toBe(1);
    expect(sandbox.inspect().concurrency.peak).toBeLessThanOrEqual(10);
  });

  it('an expired token (401 INVALID_TOKEN): one refresh, then the call succeeds', async () => {
    await client.getOrgZgid();
    sandbox.clock.advance(3601 * 1000);
    expect(await client.listAttachments(lead())).toEqual([]);
    expect(tokenRequests()).toBe(2);
    const answers = requestsTo('api').map((r) => r.status);
    expect(answers).toEqual([200, 401, 204]);
  });

  it('a token killed by the 16th mint: one refresh, then the call succeeds', async () => {
    await client.getOrgZgid();
    for (let i = 0; i < 9; i += 1) await mint();
    sandbox.clock.advance(11 * 60 * 1000); // Zoho: 10 mints per 10 minutes
    for (let i = 0; i < 6; i += 1) await mint(); // 16 alive: ours, the oldest, is dead now
    expect(await client.listAttachments(lead())).toEqual([]);
    expect(requestsTo('api').map((r) => r.status)).toEqual([200, 401, 204]);
  });

  it('the 11th mint in 10 minutes is throttled, and the throttle is not hammered', async () => {
    for (let i = 0; i < 10; i += 1) await clientOf(sandbox).getOrgZgid();
    const late = clientOf(sandbox);
    const throttled = await failure(late.getOrgZgid());
    expect(throttled).toBeInstanceOf(ZohoThrottledError);
    expect(throttled).toMatchObject({ zohoCode: 'Access Denied', status: 200 });
    await Promise.allSettled(Array.from({ length: 20 }, () => late.listAttachments(lead())));
    expect(tokenRequests()).toBe(11);
  });

  it('lists past 2,000 attachments with page_token, as page stops there', async () => {
    const minted = await mint();
    const total = 2_050;
    let made = 0;
    const attachLink = async () => {
      for (let i = made++; i < total; i = made++) {
        const query = new URLSearchParams({
          attachmentUrl: `https://www.example.com/doc/${i}`,
          title: `doc ${i}`,
        });
        const answer = await fetch(`${sandbox.apiUrl}/crm/v8/Leads/${lead().recordId}/Attachments?${query}`, {
          method: 'POST',
          headers: { authorization: `Zoho-oauthtoken ${minted.access_token}` },
        });
        expect(answer.status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 8 }, attachLink));
    const listed = await client.listAttachments(lead());
    expect(listed).toHaveLength(total);
    expect(new Set(listed.map((a) => a.id)).size).toBe(total);
    const lists = requestsTo('api').filter((r) => r.method === 'GET' && r.path.includes('/Attachments'));
    expect(lists.map((r) => r.status)).toEqual(Array(11).fill(200));
    expect(lists.at(-1)?.query.page_token).toBeDefined();
  }, 60_000);

  it('after Access Denied, asks for no token until the ten-minute window has ended', async () => {
    for (let i = 0; i < 10; i += 1) await clientOf(sandbox).getOrgZgid();
    const late = clientOf(sandbox, { now: () => sandbox.clock.now() });
    await expect(late.getOrgZgid()).rejects.toBeInstanceOf(ZohoThrottledError);
    sandbox.clock.advance(9 * 60_000);
    await expect(late.getOrgZgid()).rejects.toBeInstanceOf(ZohoThrottledError);
    expect(tokenRequests()).toBe(11);
    sandbox.clock.advance(60_000);
    expect(await late.getOrgZgid()).toMatch(/^\d+$/);
    expect(tokenRequests()).toBe(12);
  });

  it('a wrong secret, answered with HTTP 200, is an auth error', async () => {
    const wrong = clientOf(sandbox, {
      credentials: { ...sandbox.credentials, clientSecret: 'not-the-secret' },
    });
    const error = await failure(wrong.getOrgZgid());
    expect(error).toBeInstanceOf(ZohoAuthError);
    expect(error).toMatchObject({ zohoCode: 'invalid_client_secret', status: 200, retryable: false });
    const noRefresh = clientOf(sandbox, {
      credentials: { ...sandbox.credentials, refreshToken: 'sandbox-rt-wrong' },
    });
    await expect(noRefresh.getOrgZgid()).rejects.toMatchObject({
      code: 'ZOHO_AUTH',
      zohoCode: 'invalid_code',
    });
    expect(requestsTo('api')).toEqual([]);
  });

  it('reads expires_in_sec when expires_in is in milliseconds', async () => {
    await useSandbox({ tokenExpiresInMs: true });
    await client.getOrgZgid();
    sandbox.clock.advance(3601 * 1000);
    // Had it read 3,600,000 s, the client would still trust the dead token: 401 then refresh.
    await client.listAttachments(lead());
    expect(tokenRequests()).toBe(2);
  });
});

describe('faults', () => {
  it('retries GETs through 429 and 500', async () => {
    sandbox.faults.set({
      failNext: [
        { status: 429, code: 'TOO_MANY_REQUESTS', path: '/Attachments' },
        { status: 500, code: 'INTERNAL_ERROR', path: '/Attachments' },
      ],
    });
    expect(await client.listAttachments(lead())).toEqual([]);
    expect(requestsTo('api').map((r) => r.status)).toEqual([429, 500, 204]);
  });

  it('gives up after maxAttempts with the server error', async () => {
    sandbox.faults.set({ rate500: 1 });
    await expect(client.getOrgZgid()).rejects.toBeInstanceOf(ZohoServerError);
    expect(requestsTo('api')).toHaveLength(4);
  });

  it('keeps under the org concurrency limit: no 429 for calls in flight', async () => {
    await useSandbox({ concurrencyLimit: 3 }, { maxInFlight: 3 });
    sandbox.faults.set({ latencyMs: 20 });
    await Promise.all(Array.from({ length: 12 }, () => client.listAttachments(lead())));
    expect(requestsTo('api').filter((r) => r.status === 429)).toEqual([]);
    expect(sandbox.inspect().concurrency.peak).toBe(3);
  });

  it('rides out 429s from an org limit lower than its own', async () => {
    await useSandbox(
      { concurrencyLimit: 2 },
      { maxInFlight: 6, retry: { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 40 } },
    );
    sandbox.faults.set({ latencyMs: 20 });
    await Promise.all(Array.from({ length: 6 }, () => client.listAttachments(lead())));
    expect(requestsTo('api').some((r) => r.status === 429)).toBe(true);
  });

  it('does not re-send an upload whose answer was lost: outcome unknown, one attachment', async () => {
    sandbox.faults.set({ dropResponseAfterUpload: 1 });
    const error = await failure(client.uploadAttachment(lead(), fileOf(Buffer.from('once'), 'once.txt')));
    expect(error).toBeInstanceOf(ZohoOutcomeUnknownError);
    expect(error.retryable).toBe(true);
    expect(sandbox.inspect().attachments).toHaveLength(1);
    expect(requestsTo('api').filter((r) => r.method === 'POST')).toHaveLength(1);
    // Looking before pushing again finds it.
    expect((await client.listAttachments(lead())).map((a) => a.fileName)).toEqual(['once.txt']);
  });

  it('a connection cut mid-upload is not re-sent either', async () => {
    sandbox.faults.set({ resetDuringUpload: 1 });
    const error = await failure(client.uploadAttachment(lead(), generatedFile(4 * MB, 'cut.pdf')));
    expect(error).toBeInstanceOf(ZohoOutcomeUnknownError);
    expect(requestsTo('api').filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(sandbox.inspect().attachments).toEqual([]);
  });

  it('an upload answered 429 or 500 surfaces, retryable, without a blind re-send', async () => {
    sandbox.faults.set({ failNext: [{ status: 500, code: 'INTERNAL_ERROR', path: '/Attachments' }] });
    const error = await failure(client.uploadAttachment(lead(), fileOf(Buffer.from('x'), 'x.txt')));
    expect(error).toBeInstanceOf(ZohoServerError);
    expect(error.retryable).toBe(true);
    expect(requestsTo('api')).toHaveLength(1);
  });

  it('a job creation answered 500 is sent again (Zoho did not do it), once it is answered', async () => {
    const zip = await zipOf('Leads.csv', 'Last_Name\nDoe\n');
    const { fileId } = await client.uploadBulkFile(fileOf(zip, 'Leads.zip'));
    sandbox.faults.set({ failNext: [{ status: 500, code: 'INTERNAL_ERROR', path: '/bulk/' }] });
    const { jobId } = await client.createBulkWriteJob({
      operation: 'insert',
      resource: [{ module: 'Leads', file_id: fileId }],
    });
    expect(sandbox.inspect().bulkJobs.map((j) => j.id)).toEqual([jobId]);
  });

  it('stops at the deadline while Zoho is slow', async () => {
    await client.getOrgZgid();
    sandbox.faults.set({ latencyMs: 5_000 });
    const started = Date.now();
    const error = await failure(client.listAttachments(lead(), { signal: AbortSignal.timeout(200) }));
    expect(error).toBeInstanceOf(ZohoDeadlineError);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('stops at the deadline instead of backing off past it', async () => {
    const patient = clientOf(sandbox, {
      retry: { baseDelayMs: 30_000, maxDelayMs: 30_000 },
      random: () => 1,
    });
    sandbox.faults.set({ rate500: 1 });
    const started = Date.now();
    const error = await failure(patient.getOrgZgid({ signal: AbortSignal.timeout(300) }));
    expect(error).toBeInstanceOf(ZohoDeadlineError);
    expect((error as Error).cause).toBeInstanceOf(ZohoServerError);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(requestsTo('api')).toHaveLength(1);
  });
});
