/**
 * The sandbox's module and field metadata (crm-oas v8.0 modules.json, fields.json), which Zoho's
 * SDKs read before a record call, and the request log's names of what a body carried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, mintToken, refreshParams } from './sandbox-helpers.ts';

let sb: Sandbox;
let call: ReturnType<typeof client>;

beforeAll(async () => {
  sb = await startSandbox({ port: 0 });
  call = client(sb, await mintToken(sb));
});
afterAll(() => sb?.close());

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
      body: JSON.stringify({ data: [{ Description: 'logged by name only', Tag: null }] }),
    });
    const [token, update] = sb.inspect().requests.slice(before);
    expect(token?.form).toEqual(['grant_type', 'client_id', 'client_secret', 'refresh_token']);
    expect(update?.jsonKeys).toEqual(['data', 'data[].Description', 'data[].Tag']);
    expect(JSON.stringify(sb.inspect().requests)).not.toContain('logged by name only');
  });
});
