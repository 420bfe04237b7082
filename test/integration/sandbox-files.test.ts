/** The sandbox's attachments and photos: real multipart bodies, every refusal Zoho documents, upload faults. */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import {
  bmp,
  client,
  fileForm,
  gif,
  mintToken,
  multipart,
  png,
  postForm,
  sha256,
} from './sandbox-helpers.ts';

let sb: Sandbox;
let call: ReturnType<typeof client>;
let leadId: string;

beforeAll(async () => {
  sb = await startSandbox({ port: 0, attachmentMaxBytes: 1024 * 1024 });
  call = client(sb, await mintToken(sb));
  leadId = sb.seed.Leads?.[0] ?? '';
});
afterAll(() => sb?.close());

const attachmentsOf = (module: string, id: string, query = '?fields=id,File_Name,Size,Created_Time') =>
  call(`/crm/v8/${module}/${id}/Attachments${query}`);

describe('attachments', () => {
  it('stores a file byte for byte, names it from filename*, lists it and downloads it', async () => {
    const contactId = sb.seed.Contacts?.[0] ?? '';
    const data = randomBytes(300_000);
    const fileName = 'Résumé + notes 東京.pdf';
    const response = await postForm(
      call,
      `/crm/v8/Contacts/${contactId}/Attachments`,
      multipart([{ name: 'file', data, filenameStar: fileName, contentType: 'application/pdf' }]),
    );
    expect(response.status).toBe(200);
    const { data: answers } = (await response.json()) as {
      data: Array<{ code: string; details: Record<string, unknown> }>;
    };
    expect(answers[0]).toMatchObject({
      code: 'SUCCESS',
      message: 'attachment uploaded successfully',
      status: 'success',
    });
    const id = answers[0]?.details.id as string;
    expect(id).toMatch(/^\d{19}$/);
    expect(answers[0]?.details).toMatchObject({
      Created_By: { id: expect.any(String) },
      Modified_Time: expect.any(String),
    });

    const list = (await (await attachmentsOf('Contacts', contactId)).json()) as {
      data: Array<Record<string, unknown>>;
      info: Record<string, unknown>;
    };
    expect(list.data).toEqual([
      { id, File_Name: fileName, Size: String(data.length), Created_Time: expect.any(String) },
    ]);
    expect(list.info).toEqual({ per_page: 200, count: 1, page: 1, more_records: false });
    expect(sb.inspect().attachments.find((a) => a.id === id)?.sha256).toBe(sha256(data));

    const download = await call(`/crm/v8/Contacts/${contactId}/Attachments/${id}`);
    expect(download.headers.get('content-disposition')).toContain(
      `filename*=UTF-8''${encodeURIComponent(fileName)}`,
    );
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(data));
  });

  it('takes a file sent in tiny chunks, its boundary split across them', async () => {
    const data = Buffer.from(`${'--boundary-lookalike\r\n'.repeat(40)}end`);
    const form = fileForm(data, 'chunks.txt');
    const token = await mintToken(sb);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${sb.apiUrl}/crm/v8/Leads/${leadId}/Attachments`, {
        method: 'POST',
        headers: { authorization: `Zoho-oauthtoken ${token}`, 'content-type': form.contentType },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let at = 0, size = 1; at < form.body.length; at += size, size = (size % 7) + 1) {
        req.write(form.body.subarray(at, at + size));
      }
      req.end();
    });
    expect(status).toBe(200);
    expect(sb.inspect().attachments.find((a) => a.fileName === 'chunks.txt')?.sha256).toBe(sha256(data));
  });

  it('pages the list and answers 204 with an empty body when a record has none', async () => {
    const accountId = sb.seed.Accounts?.[1] ?? '';
    const empty = await attachmentsOf('Accounts', accountId);
    expect(empty.status).toBe(204);
    expect(await empty.text()).toBe('');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) {
      await postForm(call, `/crm/v8/Accounts/${accountId}/Attachments`, fileForm(name, name));
    }
    const page = (await (
      await attachmentsOf('Accounts', accountId, '?fields=File_Name&per_page=2&page=1')
    ).json()) as {
      data: unknown[];
      info: { more_records: boolean };
    };
    expect(page.data).toHaveLength(2);
    expect(page.info.more_records).toBe(true);
    expect((await attachmentsOf('Accounts', accountId, '?fields=File_Name&per_page=2&page=3')).status).toBe(
      204,
    );
  });

  it('wants `fields` from v3 on, not in v2', async () => {
    const v8 = await call(`/crm/v8/Leads/${leadId}/Attachments`);
    expect(v8.status).toBe(400);
    expect(await v8.json()).toMatchObject({
      code: 'REQUIRED_PARAM_MISSING',
      details: { param_name: 'fields' },
    });
    const v2 = (await (await call(`/crm/v2/Leads/${leadId}/Attachments`)).json()) as {
      data: Array<Record<string, unknown>>;
    };
    expect(v2.data[0]).toHaveProperty('$se_module', 'Leads');
  });

  it.each([
    [
      'a file over the limit',
      fileForm(Buffer.alloc(1024 * 1024 + 1), 'big.bin'),
      415,
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
    ],
    ['an .exe', fileForm('MZ', 'setup.EXE'), 415, 'INVALID_DATA'],
    ['an empty file', fileForm('', 'empty.txt'), 400, 'INVALID_DATA'],
    [
      'no file field',
      multipart([{ name: 'document', data: 'x', filename: 'x.txt' }]),
      400,
      'REQUIRED_PARAM_MISSING',
    ],
    [
      'a malformed body, answered although more of it follows',
      {
        contentType: 'multipart/form-data; boundary=b',
        body: Buffer.concat([
          Buffer.from('--b\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n'),
          Buffer.alloc(2_000_000),
        ]),
      },
      400,
      'INVALID_DATA',
    ],
    [
      'a file whose body ends before the closing boundary',
      {
        contentType: 'multipart/form-data; boundary=b',
        body: Buffer.from(
          '--b\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\nhalf a file',
        ),
      },
      400,
      'INVALID_DATA',
    ],
    [
      'a file and a link at once',
      multipart([
        { name: 'file', data: 'x', filename: 'x.txt' },
        { name: 'attachmentUrl', data: 'https://www.zoho.com' },
      ]),
      400,
      'INVALID_DATA',
    ],
  ])('refuses %s and stores nothing', async (_what, form, status, code) => {
    const before = sb.inspect().attachments.length;
    const response = await postForm(call, `/crm/v8/Leads/${leadId}/Attachments`, form);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code, status: 'error' });
    expect(sb.inspect().attachments.length).toBe(before);
  });

  it('attaches a link once, refuses the same link again, and deletes', async () => {
    const dealId = sb.seed.Deals?.[0] ?? '';
    const link = multipart([{ name: 'attachmentUrl', data: 'https://www.example.com/brochure' }]);
    const first = (await (await postForm(call, `/crm/v8/Deals/${dealId}/Attachments`, link)).json()) as {
      data: Array<{ details: { id: string } }>;
    };
    const again = await postForm(call, `/crm/v8/Deals/${dealId}/Attachments`, link);
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ code: 'INVALID_DATA' });
    const id = first.data[0]?.details.id ?? '';
    const deleted = await call(`/crm/v8/Deals/${dealId}/Attachments/${id}`, { method: 'DELETE' });
    expect(await deleted.json()).toEqual({
      data: [{ code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' }],
    });
    expect((await attachmentsOf('Deals', dealId)).status).toBe(204);
  });

  it('takes a link and its title as query parameters, as crm-oas v8.0 sends them', async () => {
    const dealId = sb.seed.Deals?.[1] ?? '';
    const query = new URLSearchParams({
      attachmentUrl: 'https://www.example.com/price-list',
      title: 'Price list',
    });
    const response = await call(`/crm/v8/Deals/${dealId}/Attachments?${query}`, { method: 'POST' });
    expect(response.status).toBe(200);
    const listed = (await (
      await call(`/crm/v8/Deals/${dealId}/Attachments?fields=id,File_Name,$link_url,$type`)
    ).json()) as { data: Array<Record<string, unknown>> };
    expect(listed.data).toContainEqual(
      expect.objectContaining({
        File_Name: 'Price list',
        $link_url: 'https://www.example.com/price-list',
        $type: 'Link URL',
      }),
    );
  });

  it('attaches to Notes like any module', async () => {
    const noteId = sb.seed.Notes?.[0] ?? '';
    expect(
      (await postForm(call, `/crm/v8/Notes/${noteId}/Attachments`, fileForm('minutes', 'minutes.txt')))
        .status,
    ).toBe(200);
    expect((await attachmentsOf('Notes', noteId)).status).toBe(200);
  });
});

describe('upload faults', () => {
  it('resetDuringUpload: the connection is reset mid-body and nothing is stored', async () => {
    const before = sb.inspect().attachments.length;
    sb.faults.set({ resetDuringUpload: 1 });
    await expect(
      postForm(call, `/crm/v8/Leads/${leadId}/Attachments`, fileForm(randomBytes(2_000_000), 'cut.bin')),
    ).rejects.toThrow();
    expect(sb.inspect().attachments.length).toBe(before);
    expect(
      (await postForm(call, `/crm/v8/Leads/${leadId}/Attachments`, fileForm('whole', 'whole.txt'))).status,
    ).toBe(200);
  });

  it('a client that goes away mid-upload leaves nothing stored', async () => {
    const before = sb.inspect().attachments.length;
    const path = `/crm/v8/Leads/${sb.seed.Leads?.[2]}/Attachments`;
    const mine = () => sb.inspect().requests.find((r) => r.path === `/api${path}`);
    const form = fileForm(randomBytes(64 * 1024), 'abandoned.bin');
    const req = request(`${sb.apiUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Zoho-oauthtoken ${await mintToken(sb)}`, 'content-type': form.contentType },
    });
    req.on('error', () => {});
    req.write(form.body.subarray(0, 20_000));
    while (!mine()?.bodyBytes) await new Promise((r) => setTimeout(r, 5));
    req.destroy();
    while (!mine()?.outcome) await new Promise((r) => setTimeout(r, 5));
    expect(mine()).toMatchObject({ status: 0, outcome: expect.stringContaining('did not arrive whole') });
    expect(sb.inspect().attachments.length).toBe(before);
    // The call no longer counts against the concurrency limit.
    while (sb.inspect().concurrency.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
  });

  it('dropResponseAfterUpload: the file is stored but no answer comes', async () => {
    sb.faults.set({ dropResponseAfterUpload: 1 });
    await expect(
      postForm(call, `/crm/v8/Leads/${leadId}/Attachments`, fileForm('kept', 'dropped.txt')),
    ).rejects.toThrow();
    expect(sb.inspect().attachments.filter((a) => a.fileName === 'dropped.txt')).toHaveLength(1);
    const log = sb.inspect().requests.findLast((r) => r.files[0]?.fileName === 'dropped.txt');
    expect(log).toMatchObject({ status: 0, outcome: expect.stringContaining('dropResponseAfterUpload') });
  });
});

describe('photos', () => {
  const photoOf = (module: string, id: string) => `/crm/v8/${module}/${id}/photo`;

  it('sets, replaces, returns and deletes a photo', async () => {
    const contactId = sb.seed.Contacts?.[1] ?? '';
    const first = await postForm(call, photoOf('Contacts', contactId), fileForm(png(640, 480), 'me.png'));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      code: 'SUCCESS',
      details: {},
      message: 'photo uploaded successfully',
      status: 'success',
    });
    const second = bmp(200, 100);
    expect((await postForm(call, photoOf('Contacts', contactId), fileForm(second, 'me.bmp'))).status).toBe(
      200,
    );
    expect(sb.inspect().photos[`Contacts/${contactId}`]).toMatchObject({
      size: second.length,
      format: 'bmp',
      width: 200,
    });
    const got = await call(photoOf('Contacts', contactId));
    expect(got.headers.get('content-type')).toBe('image/bmp');
    expect(Buffer.from(await got.arrayBuffer())).toEqual(second);
    expect((await call(photoOf('Contacts', contactId), { method: 'DELETE' })).status).toBe(200);
    expect((await call(photoOf('Contacts', contactId))).status).toBe(204);
  });

  it('takes GIF on a custom module and records restrict_triggers', async () => {
    const projectId = sb.seed.Projects__c?.[0] ?? '';
    const response = await postForm(
      call,
      `${photoOf('Projects__c', projectId)}?restrict_triggers=workflow`,
      fileForm(gif(64, 64), 'logo.gif'),
    );
    expect(response.status).toBe(200);
    expect(sb.inspect().photos[`Projects__c/${projectId}`]).toMatchObject({
      format: 'gif',
      restrictTriggers: 'workflow',
    });
  });

  it.each([
    ['a file that is not an image', 'Leads', 1, fileForm('%PDF-1.7', 'doc.png'), 400, 'INVALID_DATA'],
    [
      'an image over 10 megapixels',
      'Leads',
      1,
      fileForm(png(5000, 3000), 'huge.png'),
      415,
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
    ],
    [
      'a file over 10 MB',
      'Leads',
      1,
      fileForm(Buffer.concat([png(10, 10), Buffer.alloc(10 * 1024 * 1024)]), 'fat.png'),
      415,
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
    ],
    ['a module without photos', 'Notes', 0, fileForm(png(10, 10), 'n.png'), 400, 'INVALID_MODULE'],
    ['a locked record', 'locked', 0, fileForm(png(50, 50), 'l.png'), 400, 'RECORD_LOCKED'],
  ])('refuses %s', async (_what, seedKey, index, form, status, code) => {
    const module = seedKey === 'locked' ? 'Leads' : seedKey;
    const id = sb.seed[seedKey]?.[index] ?? '';
    const response = await postForm(call, photoOf(module, id), form);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ code, status: 'error' });
    expect(sb.inspect().photos[`${module}/${id}`]).toBeUndefined();
  });
});
