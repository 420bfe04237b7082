/**
 * The spec checker (crm-oas.ts) is a real check: a request or an answer that disagrees with
 * crm-oas v8.0 is caught, and every sandbox a test starts is checked (setup.ts), so the sandbox's
 * refusals of what the spec refuses are judged too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Exchange } from '#sandbox/exchange.ts';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, mintToken } from '../integration/sandbox-helpers.ts';
import { checkExchange, SPEC_DIR, SPEC_PRESENT } from './crm-oas.ts';
import { takeSpecViolations } from './setup.ts';

if (!SPEC_PRESENT)
  console.log(`crm-oas v8.0 not found at ${SPEC_DIR}: the sandbox is not checked against Zoho's spec`);

function exchange(overrides: Partial<Exchange>): Exchange {
  return {
    host: 'api',
    method: 'GET',
    path: '/crm/v8/org',
    query: new URLSearchParams(),
    headers: {},
    body: undefined,
    formFields: [],
    scopes: [],
    status: 200,
    responseHeaders: {},
    responseJson: undefined,
    binary: false,
    ...overrides,
  };
}

const JOB_PATH = '/crm/bulk/v8/write';
const jobRequest = (operation: string) =>
  exchange({
    method: 'POST',
    path: JOB_PATH,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(
      JSON.stringify({
        operation,
        resource: [{ type: 'data', module: { api_name: 'Leads', id: '1' }, file_id: '1' }],
      }),
    ),
  });

describe.runIf(SPEC_PRESENT)('the spec checker, on exchanges made up to be wrong', () => {
  it('catches an answer whose body breaks the schema', () => {
    const violations = checkExchange(
      exchange({
        path: '/crm/bulk/v8/write/5725767000001000001',
        responseJson: { status: 'COMPLETED', resource: [{ status: 'DONE', file: { added_count: '3' } }] },
      }),
    );
    expect(violations).toEqual([
      expect.objectContaining({
        operation: 'bulk_write.json GET /crm/bulk/v8/write/{job_id}',
        where: 'response 200',
        message: expect.stringMatching(
          /\/resource\/0\/status must be equal to one of the allowed values.*\/resource\/0\/file\/added_count must be integer/,
        ),
      }),
    ]);
  });

  it('catches a status the operation does not document', () => {
    const violations = checkExchange(exchange({ status: 418, responseJson: { code: 'TEAPOT' } }));
    expect(violations).toEqual([
      expect.objectContaining({
        where: 'response 418 TEAPOT',
        message: expect.stringMatching(/not documented/),
      }),
    ]);
  });

  it('catches a request the spec refuses when it is accepted, and not when it is refused', () => {
    const accepted = { ...jobRequest('merge'), status: 201, responseJson: jobCreated() };
    expect(checkExchange(accepted)).toEqual([
      expect.objectContaining({
        where: 'request',
        message: expect.stringMatching(/^accepted, yet the body: \/operation must be equal to one of/),
      }),
    ]);
    const refused = {
      ...jobRequest('merge'),
      status: 400,
      responseJson: {
        code: 'INVALID_DATA',
        details: { api_name: 'operation' },
        message: 'x',
        status: 'error',
      },
    };
    expect(checkExchange(refused)).toEqual([]);
    expect(checkExchange({ ...jobRequest('insert'), status: 201, responseJson: jobCreated() })).toEqual([]);
  });

  it('catches form fields the operation does not take, and a required one missing', () => {
    const violations = checkExchange(
      exchange({
        method: 'POST',
        path: '/crm/v8/files',
        headers: { 'content-type': 'multipart/form-data; boundary=x' },
        formFields: ['upload'],
        responseJson: { data: [] },
      }),
    );
    expect(violations.map((v) => v.message)).toEqual([
      'accepted, yet the form field upload is not one of file',
      'accepted, yet the required form field file is missing',
    ]);
  });

  it("catches a scope the sandbox asks for that the spec's security does not grant", () => {
    const org = { responseJson: { org: [] }, scopes: ['ZohoCRM.settings.READ'] };
    expect(checkExchange(exchange(org))).toEqual([
      expect.objectContaining({
        where: 'request',
        message:
          "accepted, yet the sandbox asks for the scope ZohoCRM.settings.READ, which the spec's (ZohoCRM.org.all) do not grant",
      }),
    ]);
    expect(checkExchange(exchange({ ...org, scopes: ['ZohoCRM.org.READ'] }))).toEqual([]);
  });

  it('catches JSON where the spec documents a download', () => {
    const violations = checkExchange(
      exchange({
        path: '/crm/v8/files',
        query: new URLSearchParams({ id: 'abc' }),
        responseJson: { ok: true },
      }),
    );
    expect(violations).toEqual([
      expect.objectContaining({ message: 'JSON, where the spec documents application/x-download' }),
    ]);
  });
});

describe.runIf(SPEC_PRESENT)('every sandbox a test starts', () => {
  let sandbox: Sandbox;
  let call: ReturnType<typeof client>;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    call = client(sandbox, await mintToken(sandbox));
  });
  afterAll(() => sandbox?.close());

  it('is checked: an answer the spec does not document is recorded against the test', async () => {
    sandbox.faults.set({ failNext: [{ status: 418, code: 'TEAPOT', path: '/crm/v8/org' }] });
    expect((await call('/crm/v8/org')).status).toBe(418);
    expect(takeSpecViolations()).toEqual([
      expect.objectContaining({ operation: 'org.json GET /crm/v8/org', where: 'response 418 TEAPOT' }),
    ]);
  });

  it('refuses, with Zoho codes the spec documents, requests the spec refuses', async () => {
    const job = (body: unknown, contentType = 'application/json') =>
      call('/crm/bulk/v8/write', {
        method: 'POST',
        headers: { 'content-type': contentType },
        body: JSON.stringify(body),
      });
    const refusals = [
      await job({ operation: 'merge', resource: [] }),
      await job({ resource: [] }),
      await job({ operation: 'insert', resource: [] }, 'text/plain'),
      await call(`/crm/v8/Leads/${sandbox.seed.Leads?.[0]}/Attachments`),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 400, 400]);
    // Each refusal is an answer the operation documents: the setup's check found nothing to fail.
    expect(takeSpecViolations()).toEqual([]);
  });
});

function jobCreated() {
  return {
    status: 'success',
    code: 'SUCCESS',
    message: 'success',
    details: { id: '5725767000001000001', created_by: { id: '1', name: 'Sandbox User' } },
  };
}
