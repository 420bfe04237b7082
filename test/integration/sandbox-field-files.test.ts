/**
 * The sandbox's ZFS uploads and file-upload fields (crm-oas v8.0 files.json, record.json
 * `FileDetails`, field_attachments.json): real multipart bodies, Zoho's limits and envelopes. Also
 * the module and field metadata Zoho's SDKs read first (modules.json, fields.json), and the
 * request log's names of what a body carried.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MAX_FILES } from '#sandbox/field-files.ts';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, fileForm, mintToken, postForm, refreshParams, sha256 } from './sandbox-helpers.ts';

let sb: Sandbox;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  call = client(sb, await mintToken(sb));
});
afterAll(() => sb?.close());

type Answer = {
  data: Array<{ code: string; status: string; message: string; details: Record<string, unknown> }>;
};

async function toZfs(data: Buffer, name: string): Promise<string> {
  const response = await postForm(call, '/crm/v8/files', fileForm(data, name));
  expect(response.status).toBe(200);
  const answer = (await response.json()) as Answer;
  expect(answer.data[0]).toMatchObject({ code: 'SUCCESS', status: 'success', details: { name } });
  return answer.data[0]?.details.id as string;
}

const update = (module: string, id: string, fields: Record<string, unknown>) =>
  call(`/crm/v8/${module}/${id}`, {
    method: 'PUT',
    body: JSON.stringify({ data: [fields] }),
    headers: { 'content-type': 'application/json' },
  });

async function documents(leadId: string): Promise<Array<Record<string, unknown>> | null> {
  const response = await call(`/crm/v8/Leads/${leadId}?fields=Documents`);
  const { data } = (await response.json()) as { data: Array<Record<string, unknown>> };
  expect(Object.keys(data[0] ?? {}).sort()).toEqual(['Documents', 'id']);
  return data[0]?.Documents as Array<Record<string, unknown>> | null;
}

describe('ZFS and file-upload fields', () => {
  it('adds files to a field, keeps those already there, removes one only when told, and serves its bytes', async () => {
    const leadId = sb.seed.Leads?.[1] ?? '';
    expect(await documents(leadId)).toBeNull();
    const first = randomBytes(2000);
    const second = randomBytes(3000);
    const firstId = await toZfs(first, 'first.pdf');
    expect((await update('Leads', leadId, { Documents: [{ File_Id__s: firstId }] })).status).toBe(200);
    const secondId = await toZfs(second, 'second.pdf');
    const answer = (await (
      await update('Leads', leadId, { Documents: [{ File_Id__s: secondId }] })
    ).json()) as Answer;
    expect(answer.data[0]).toMatchObject({ code: 'SUCCESS', status: 'success', details: { id: leadId } });

    const held = (await documents(leadId)) ?? [];
    expect(held.map((f) => [f.File_Name__s, f.Size__s, f.File_Id__s])).toEqual([
      ['first.pdf', '2000', firstId],
      ['second.pdf', '3000', secondId],
    ]);
    const download = await call(
      `/crm/v8/Leads/${leadId}/actions/download_fields_attachment?fields_attachment_id=${held[1]?.id}`,
    );
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(second));

    await update('Leads', leadId, { Documents: [{ id: held[0]?.id, _delete: null }] });
    expect(((await documents(leadId)) ?? []).map((f) => f.File_Name__s)).toEqual(['second.pdf']);
  });

  it(`refuses a file over 20 MB (FILE_SIZE_MORE_THAN_ALLOWED_SIZE) and a field past ${FIELD_MAX_FILES} files`, async () => {
    const tooLarge = await postForm(
      call,
      '/crm/v8/files',
      fileForm(Buffer.alloc(20 * 1024 * 1024 + 1, 1), 'big.bin'),
    );
    expect(tooLarge.status).toBe(400);
    expect(await tooLarge.json()).toMatchObject({
      code: 'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
      status: 'error',
    });

    const leadId = sb.seed.Leads?.[2] ?? '';
    const ids = await Promise.all(
      Array.from({ length: FIELD_MAX_FILES + 1 }, (_, i) => toZfs(Buffer.from(`file ${i}`), `f${i}.txt`)),
    );
    const full = await update('Leads', leadId, {
      Documents: ids.slice(0, FIELD_MAX_FILES).map((id) => ({ File_Id__s: id })),
    });
    expect(full.status).toBe(200);
    const over = await update('Leads', leadId, { Documents: [{ File_Id__s: ids[FIELD_MAX_FILES] }] });
    expect(over.status).toBe(400);
    expect(((await over.json()) as Answer).data[0]).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      status: 'error',
      details: { api_name: 'Documents' },
    });
    expect(await documents(leadId)).toHaveLength(FIELD_MAX_FILES);
  });

  it('refuses a file id in a field that is not a file-upload field, an unknown field, an unknown file id and v2-era keys (INVALID_DATA)', async () => {
    const leadId = sb.seed.Leads?.[0] ?? '';
    const fileId = await toZfs(Buffer.from('x'), 'x.txt');
    for (const [fields, details] of [
      [{ Description: [{ File_Id__s: fileId }] }, { api_name: 'Description', expected_data_type: 'text' }],
      [{ No_Such_Field: [{ File_Id__s: fileId }] }, { api_name: 'No_Such_Field' }],
      [
        { Documents: [{ File_Id__s: 'f'.repeat(64) }] },
        { api_name: 'Documents', File_Id__s: 'f'.repeat(64), json_path: '$.data[0].Documents[0]' },
      ],
      // v2's `file_id` is no FileDetails key (crm-oas v8.0 record.json): nothing is attached.
      [
        { Documents: [{ file_id: fileId }] },
        { api_name: 'Documents', File_Id__s: null, json_path: '$.data[0].Documents[0]' },
      ],
      [
        { Documents: [{ attachment_id: '5725767000001000001', _delete: null }] },
        { api_name: 'Documents', id: null, json_path: '$.data[0].Documents[0]' },
      ],
    ] as const) {
      const response = await update('Leads', leadId, fields);
      expect(response.status).toBe(400);
      expect(((await response.json()) as Answer).data[0]).toEqual({
        code: 'INVALID_DATA',
        status: 'error',
        message: 'invalid data',
        details,
      });
    }
  });

  it('needs ZohoCRM.files.CREATE for a ZFS upload (crm-oas v8.0 files.json)', async () => {
    const narrow = await startSandbox({ port: 0, scopes: ['ZohoCRM.modules.ALL'] });
    try {
      const response = await postForm(
        client(narrow, await mintToken(narrow)),
        '/crm/v8/files',
        fileForm('x', 'x.txt'),
      );
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'OAUTH_SCOPE_MISMATCH' });
    } finally {
      await narrow.close();
    }
  });
});

describe('module and field metadata', () => {
  it("lists the org's modules, standard and custom, without subforms", async () => {
    const response = await call('/crm/v8/settings/modules');
    expect(response.status).toBe(200);
    const { modules } = (await response.json()) as { modules: Array<Record<string, unknown>> };
    const byName = new Map(modules.map((m) => [m.api_name, m]));
    expect(byName.get('Leads')).toMatchObject({ generated_type: 'default', api_supported: true });
    expect(byName.get('Projects__c')).toMatchObject({ generated_type: 'custom' });
    expect(byName.has('Languages')).toBe(false);
  });

  it("describes a module's fields, and refuses a missing or unknown module", async () => {
    const response = await call('/crm/v8/settings/fields?module=Leads');
    const { fields } = (await response.json()) as { fields: Array<Record<string, unknown>> };
    const byName = new Map(fields.map((f) => [f.api_name, f]));
    expect(byName.get('Last_Name')).toMatchObject({ data_type: 'text', system_mandatory: true });
    expect(byName.get('Documents')).toMatchObject({ data_type: 'fileupload', json_type: 'jsonarray' });
    expect(byName.get('Owner')).toMatchObject({ data_type: 'ownerlookup' });
    const contacts = await (await call('/crm/v8/settings/fields?module=Contacts')).json();
    const account = (contacts as { fields: Array<Record<string, unknown>> }).fields.find(
      (f) => f.api_name === 'Account_Name',
    );
    expect(account?.lookup).toMatchObject({ module: { api_name: 'Accounts' } });

    const missing = await call('/crm/v8/settings/fields');
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      code: 'REQUIRED_PARAM_MISSING',
      details: { param_name: 'module' },
    });
    const unknown = await call('/crm/v8/settings/fields?module=Nope');
    expect(await unknown.json()).toMatchObject({ code: 'INVALID_MODULE' });
  });
});

describe('the request log', () => {
  it('keeps the names a body carried, never their values', async () => {
    const before = sb.inspect().requests.length;
    await fetch(`${sb.accountsUrl}/oauth/v2/token`, {
      method: 'POST',
      body: new URLSearchParams(refreshParams(sb)),
    });
    await call(`/crm/v8/Leads/${sb.seed.Leads?.[0]}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Description: 'logged by name only', Tag: [] }] }),
    });
    const [token, update] = sb.inspect().requests.slice(before);
    expect(token?.form).toEqual(['grant_type', 'client_id', 'client_secret', 'refresh_token']);
    expect(update?.jsonKeys).toEqual(['data', 'data[].Description', 'data[].Tag']);
    expect(JSON.stringify(sb.inspect().requests)).not.toContain('logged by name only');
  });
});
