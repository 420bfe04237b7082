/**
 * Zoho's own client judges ours and the sandbox: for every operation the project performs, Zoho's
 * TypeScript SDK 8.0 performs the same against the sandbox and must succeed, and the sandbox's
 * request log shows both sent the same method, path, query parameter names, form field names,
 * JSON body keys and contract headers (values may differ). A difference fails unless
 * exceptions.ts lists it with the Zoho source that shows ours is right.
 *
 * Every operation the SDK has runs here; none had to be left out.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZipFile } from 'yazl';
import type { RequestLogEntry, Sandbox } from '#sandbox/server.ts';
import { startSandbox } from '#sandbox/server.ts';
import { exchangeGrantCode } from '#tools/ops/grant-code.ts';
import { createZohoClient } from '#zoho/client.ts';
import { ZohoNotFoundError, ZohoRequestError } from '#zoho/errors.ts';
import type { ZohoClient } from '#zoho/types.ts';
import { client, mintToken } from '../integration/sandbox-helpers.ts';
import { PARITY_EXCEPTIONS } from './exceptions.ts';
import { requestsDuring, type SdkRun, shapeOf, startSdk, ZCRM } from './sdk.ts';

let sandbox: Sandbox;
let ours: ZohoClient;
let sdk: SdkRun;
/** The SDK's token request, made while it initialized. */
let sdkTokenRequests: RequestLogEntry[];
const used = new Set<(typeof PARITY_EXCEPTIONS)[number]>();

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, bulkJobStepMs: 20 });
  ours = createZohoClient({
    hosts: { accountsUrl: sandbox.accountsUrl, apiUrl: sandbox.apiUrl, uploadUrl: sandbox.uploadUrl },
    credentials: sandbox.credentials,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  const started = await requestsDuring(sandbox, () => startSdk(sandbox));
  sdk = started.result;
  sdkTokenRequests = started.requests;
});
afterAll(async () => {
  await sdk?.close();
  await sandbox?.close();
});

const lead = () => sandbox.seed.Leads?.[0] ?? '';
const leadRef = () => ({ module: 'Leads', recordId: lead() });
const fileOf = (data: Buffer | string, fileName: string) => {
  const bytes = Buffer.from(data);
  return { body: Readable.from([bytes]), fileName, size: bytes.length };
};
const readAll = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
};

/** Each difference between the two sides' requests, worded for the exceptions table. */
function differences(oursSent: RequestLogEntry[], sdkSent: RequestLogEntry[]): string[] {
  const found: string[] = [];
  const count = Math.max(oursSent.length, sdkSent.length);
  if (oursSent.length !== sdkSent.length)
    found.push(`requests: ours ${oursSent.length}, SDK ${sdkSent.length}`);
  for (let i = 0; i < count; i += 1) {
    const a = oursSent[i] ? shapeOf(oursSent[i] as RequestLogEntry) : undefined;
    const b = sdkSent[i] ? shapeOf(sdkSent[i] as RequestLogEntry) : undefined;
    if (!a || !b) continue;
    if (a.method !== b.method || a.path !== b.path)
      found.push(`#${i}: ours ${a.method} ${a.path}, SDK ${b.method} ${b.path}`);
    for (const part of ['query', 'form', 'json', 'headers'] as const) {
      for (const name of a[part]) if (!b[part].includes(name)) found.push(`#${i} ${part} ${name}: ours only`);
      for (const name of b[part]) if (!a[part].includes(name)) found.push(`#${i} ${part} ${name}: SDK only`);
    }
  }
  return found;
}

/** Both sides' requests agree, apart from listed exceptions; and both were answered with success. */
function expectParity(operation: string, oursSent: RequestLogEntry[], sdkSent: RequestLogEntry[]) {
  expect(oursSent.length).toBeGreaterThan(0);
  for (const request of [...oursSent, ...sdkSent]) expect(request.status, request.path).toBeLessThan(300);
  const unexplained = differences(oursSent, sdkSent).filter((difference) => {
    const listed = PARITY_EXCEPTIONS.find((e) => e.operation === operation && e.difference === difference);
    if (listed) used.add(listed);
    return !listed;
  });
  expect(unexplained, `${operation}: differences without an entry in exceptions.ts`).toEqual([]);
}

/** Our client's requests and the SDK's for one operation, each run against the sandbox. */
async function both<A, B>(operation: string, oursAct: () => Promise<A>, sdkAct: () => Promise<B>) {
  const a = await requestsDuring(sandbox, oursAct);
  const b = await requestsDuring(sandbox, sdkAct);
  // A token minted on the way is the token operation's, compared there.
  const calls = (list: RequestLogEntry[]) => list.filter((r) => r.host !== 'accounts');
  expectParity(operation, calls(a.requests), calls(b.requests));
  return { ours: a.result, sdk: b.result };
}

/** The SDK's answer object, refused unless the status is a success. */
function answered<T>(response: { getStatusCode(): number; getObject(): T } | null): T {
  expect(response?.getStatusCode()).toBeLessThan(300);
  return (response as { getObject(): T }).getObject();
}

describe("Zoho's TypeScript SDK 8.0 and our client, side by side on the sandbox", () => {
  it('refresh a token: the same form field names (the SDK sends them as multipart, ours URL-encoded)', async () => {
    const fresh = createZohoClient({
      hosts: { accountsUrl: sandbox.accountsUrl, apiUrl: sandbox.apiUrl, uploadUrl: sandbox.uploadUrl },
      credentials: sandbox.credentials,
    });
    const { requests } = await requestsDuring(sandbox, () => fresh.getOrgZgid());
    const tokens = (list: RequestLogEntry[]) => list.filter((r) => r.host === 'accounts');
    expect(tokens(sdkTokenRequests)).toHaveLength(1);
    expectParity('refreshToken', tokens(requests), tokens(sdkTokenRequests));
  });

  it("read the org's zgid", async () => {
    const { ours: zgid } = await both(
      'getOrgZgid',
      () => ours.getOrgZgid(),
      async () => answered(await new ZCRM.Org.OrgOperations().getOrganization()),
    );
    expect(zgid).toBe('57257670');
  });

  it('upload an attachment, attach a link, download an attachment', async () => {
    const uploaded = await both(
      'uploadAttachment',
      () => ours.uploadAttachment(leadRef(), fileOf('ours', 'ours.txt')),
      async () => {
        const wrapper = new ZCRM.Attachments.FileBodyWrapper();
        wrapper.setFile(await sdk.file('sdk.txt', 'sdk'));
        const ops = new ZCRM.Attachments.AttachmentsOperations();
        return answered(await ops.uploadAttachments(BigInt(lead()), 'Leads', wrapper));
      },
    );
    await both(
      'attachLink',
      () => ours.attachLink(leadRef(), { url: 'https://example.com/ours', title: 'ours' }),
      async () => {
        const params = new ZCRM.ParameterMap();
        await params.add(ZCRM.Attachments.UploadUrlAttachmentsParam.ATTACHMENTURL, 'https://example.com/sdk');
        await params.add(ZCRM.Attachments.UploadUrlAttachmentsParam.TITLE, 'sdk');
        return answered(
          await new ZCRM.Attachments.AttachmentsOperations().uploadUrlAttachments(
            BigInt(lead()),
            'Leads',
            params,
          ),
        );
      },
    );
    const downloaded = await both(
      'downloadAttachment',
      async () => readAll(await ours.downloadAttachment(leadRef(), uploaded.ours.id)),
      async () => {
        const ops = new ZCRM.Attachments.AttachmentsOperations();
        return answered(await ops.getAttachment(BigInt(uploaded.ours.id), BigInt(lead()), 'Leads'));
      },
    );
    expect(downloaded.ours.toString()).toBe('ours');
    expect(downloaded.sdk).toBeInstanceOf(ZCRM.Attachments.FileBodyWrapper);
  });

  it('list attachments past the first page, with the page_token Zoho gives', async () => {
    const many = { module: 'Leads', recordId: sandbox.createRecord('Leads', { Last_Name: 'Many' }) };
    for (let i = 0; i < 201; i += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, 201 - i) }, (_, j) =>
          ours.uploadAttachment(many, fileOf(`file ${i + j}`, `f${i + j}.txt`)),
        ),
      );
    }
    const listed = await both(
      'listAttachments',
      () => ours.listAttachments(many),
      async () => {
        const ops = new ZCRM.Attachments.AttachmentsOperations();
        const page = async (next: Record<string, string | number>) => {
          const params = new ZCRM.ParameterMap();
          await params.add(
            ZCRM.Attachments.GetAttachmentsParam.FIELDS,
            'id,File_Name,Size,Created_Time,$link_url',
          );
          if (next.page) await params.add(ZCRM.Attachments.GetAttachmentsParam.PAGE, next.page as number);
          if (next.page_token)
            await params.add(ZCRM.Attachments.GetAttachmentsParam.PAGE_TOKEN, next.page_token as string);
          await params.add(ZCRM.Attachments.GetAttachmentsParam.PER_PAGE, 200);
          return answered(await ops.getAttachments(BigInt(many.recordId), 'Leads', params)) as InstanceType<
            typeof ZCRM.Attachments.ResponseWrapper
          >;
        };
        const first = await page({ page: 1 });
        const token = first.getInfo().getNextPageToken();
        const second = await page({ page_token: token });
        return [...first.getData(), ...second.getData()];
      },
    );
    expect(listed.ours).toHaveLength(201);
    expect(listed.sdk).toHaveLength(201);
  });

  it('upload a photo, with and without restrict_triggers', async () => {
    const gif = Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1');
    for (const restrictTriggers of [false, true]) {
      await both(
        'uploadPhoto',
        () => ours.uploadPhoto(leadRef(), fileOf(gif, 'ours.gif'), { restrictTriggers }),
        async () => {
          const wrapper = new ZCRM.Record.FileBodyWrapper();
          wrapper.setFile(await sdk.file('sdk.gif', gif));
          const params = new ZCRM.ParameterMap();
          if (restrictTriggers) await params.add(ZCRM.Record.UploadPhotoParam.RESTRICT_TRIGGERS, 'workflow');
          const ops = new ZCRM.Record.RecordOperations('Leads');
          return answered(await ops.uploadPhoto(BigInt(lead()), wrapper, params));
        },
      );
    }
    const photos = sandbox.inspect().requests.filter((r) => r.path.includes('/photo'));
    expect(photos.map((r) => 'restrict_triggers' in r.query)).toEqual([false, false, true, true]);
  });

  it('upload to ZFS, add to a file-upload field (File_Id__s), read the field, download a field file; the SDK removes one ({id, _delete})', async () => {
    const record = { module: 'Leads', recordId: sandbox.createRecord('Leads', { Last_Name: 'Fields' }) };
    const zfs = await both(
      'uploadFieldFile',
      () => ours.uploadFieldFile(fileOf('ours field file', 'ours.pdf')),
      async () => {
        const wrapper = new ZCRM.Files.BodyWrapper();
        wrapper.setFile([await sdk.file('sdk.pdf', 'sdk field file')]);
        const answer = answered(await new ZCRM.Files.FilesOperations().uploadFiles(wrapper)) as InstanceType<
          typeof ZCRM.Files.ActionWrapper
        >;
        const success = answer.getData()[0] as InstanceType<typeof ZCRM.Files.SuccessResponse>;
        return success.getDetails().get('id') as string;
      },
    );
    const sdkUpdate = async (entry: InstanceType<typeof ZCRM.Record.FileDetails>) => {
      const data = new ZCRM.Record.Record();
      data.addKeyValue('Documents', [entry]);
      const body = new ZCRM.Record.BodyWrapper();
      body.setData([data]);
      const answer = answered(
        await new ZCRM.Record.RecordOperations('Leads').updateRecord(BigInt(record.recordId), body),
      ) as InstanceType<typeof ZCRM.Record.ActionWrapper>;
      expect(answer.getData()[0]).toBeInstanceOf(ZCRM.Record.SuccessResponse);
    };
    await both(
      'addFieldFiles',
      () => ours.addFieldFiles(record, 'Documents', [zfs.ours.fileId]),
      () => {
        // record/file_details.ts: setFileIdS sends `File_Id__s`.
        const entry = new ZCRM.Record.FileDetails();
        entry.setFileIdS(zfs.sdk);
        return sdkUpdate(entry);
      },
    );
    const held = await both(
      'getFieldFiles',
      () => ours.getFieldFiles(record, 'Documents'),
      async () => {
        const params = new ZCRM.ParameterMap();
        await params.add(ZCRM.Record.GetRecordParam.FIELDS, 'Documents');
        const ops = new ZCRM.Record.RecordOperations('Leads');
        const answer = answered(await ops.getRecord(BigInt(record.recordId), params)) as InstanceType<
          typeof ZCRM.Record.ResponseWrapper
        >;
        return answer.getData()[0]?.getKeyValue('Documents') as Array<
          InstanceType<typeof ZCRM.Record.FileDetails>
        >;
      },
    );
    // Both files are there: an update adds the files it names and keeps the others.
    const files = 'files' in held.ours ? held.ours.files : [];
    expect(files.map((f) => f.fileId)).toEqual([zfs.ours.fileId, zfs.sdk]);
    expect(held.sdk.map((f) => f.getFileIdS())).toEqual([zfs.ours.fileId, zfs.sdk]);
    const [ourEntry, sdkEntry] = files;
    const downloaded = await both(
      'downloadFieldFile',
      async () => readAll(await ours.downloadFieldFile(record, ourEntry?.id ?? '')),
      async () => {
        const ops = new ZCRM.FieldAttachments.FieldAttachmentsOperations(
          'Leads',
          BigInt(record.recordId),
          BigInt(ourEntry?.id ?? ''),
        );
        return answered(await ops.getFieldAttachments());
      },
    );
    expect(downloaded.ours.toString()).toBe('ours field file');
    // Our client never removes a field file; the SDK's removal is what the sandbox takes (FileDetails `id` + `_delete`).
    const removal = await requestsDuring(sandbox, () => {
      const entry = new ZCRM.Record.FileDetails();
      entry.setId(sdkEntry?.id ?? '');
      entry.setDelete(null as unknown as string);
      return sdkUpdate(entry);
    });
    expect(removal.requests.map((r) => r.jsonKeys)).toEqual([
      ['data', 'data[].Documents', 'data[].Documents[]._delete', 'data[].Documents[].id'],
    ]);
    const after = await ours.getFieldFiles(record, 'Documents');
    expect('files' in after ? after.files.map((f) => f.fileId) : after).toEqual([zfs.ours.fileId]);
  });

  it('search by email and by criteria', async () => {
    const email = 'conformance@example.com';
    sandbox.createRecord('Leads', { Last_Name: 'Searched', Email: email });
    const search = async (param: 'EMAIL' | 'CRITERIA', value: string) => {
      const params = new ZCRM.ParameterMap();
      await params.add(ZCRM.Record.SearchRecordsParam[param], value);
      await params.add(ZCRM.Record.SearchRecordsParam.PAGE, 1);
      await params.add(ZCRM.Record.SearchRecordsParam.PER_PAGE, 200);
      const answer = answered(await new ZCRM.Record.RecordOperations('Leads').searchRecords(params));
      return (answer as InstanceType<typeof ZCRM.Record.ResponseWrapper>).getData();
    };
    const byEmail = await both(
      'searchRecords by email',
      () => ours.searchRecords({ module: 'Leads', field: 'Email', value: email }),
      () => search('EMAIL', email),
    );
    expect(byEmail.ours.map((r) => r.id)).toEqual(byEmail.sdk.map((r) => String(r.getId())));
    const byCriteria = await both(
      'searchRecords by criteria',
      () => ours.searchRecords({ module: 'Leads', field: 'Last_Name', value: 'Searched' }),
      () => search('CRITERIA', '(Last_Name:equals:Searched)'),
    );
    expect(byCriteria.ours).toHaveLength(1);
    expect(byCriteria.sdk).toHaveLength(1);
  });

  it('upload a ZIP to the file host, create a bulk write job (plain and parent-child), read its status, download its result', async () => {
    const zgid = await ours.getOrgZgid();
    const plain = await zipOf({ 'leads.csv': 'Last_Name,Email\r\nLamarr,hedy@example.com\r\n' });
    const family = await zipOf({
      'contacts.csv': 'Ref,Last_Name,Email\r\nc1,Noether,emmy@example.com\r\n',
      'languages.csv': 'Contact,Language\r\nc1,German\r\n',
    });
    const upload = (zip: Buffer, name: string) =>
      both(
        'uploadBulkFile',
        () => ours.uploadBulkFile(fileOf(zip, name)),
        async () => {
          const wrapper = new ZCRM.BulkWrite.FileBodyWrapper();
          wrapper.setFile(await sdk.file(name, zip));
          const headers = new ZCRM.HeaderMap();
          await headers.add(ZCRM.BulkWrite.UploadFileHeader.FEATURE, 'bulk-write');
          await headers.add(ZCRM.BulkWrite.UploadFileHeader.X_CRM_ORG, zgid);
          const answer = answered(
            await new ZCRM.BulkWrite.BulkWriteOperations().uploadFile(wrapper, headers),
          );
          return String(
            (answer as InstanceType<typeof ZCRM.BulkWrite.SuccessResponse>).getDetails().get('file_id'),
          );
        },
      );
    const plainFiles = await upload(plain, 'leads.zip');
    const familyFiles = await upload(family, 'family.zip');

    const plainJobs = await both(
      'createBulkWriteJob',
      () =>
        ours.createBulkWriteJob({
          operation: 'insert',
          ignore_empty: true,
          resource: [
            {
              module: 'Leads',
              file_id: plainFiles.ours.fileId,
              find_by: 'Email',
              field_mappings: [
                { api_name: 'Last_Name', index: 0 },
                { api_name: 'Email', index: 1 },
              ],
            },
          ],
        }),
      () =>
        sdkJob({ ignoreEmpty: true }, [
          {
            module: 'Leads',
            fileId: plainFiles.sdk,
            findBy: 'Email',
            mappings: [
              ['Last_Name', 0],
              ['Email', 1],
            ],
          },
        ]),
    );
    const familyJobs = await both(
      'createBulkWriteJob parent-child',
      () =>
        ours.createBulkWriteJob({
          operation: 'insert',
          resource: [
            {
              module: 'Contacts',
              file_id: familyFiles.ours.fileId,
              file_names: ['contacts.csv'],
              field_mappings: [
                { api_name: 'Last_Name', index: 1 },
                { api_name: 'Email', index: 2 },
              ],
            },
            {
              module: 'Languages',
              file_id: familyFiles.ours.fileId,
              file_names: ['languages.csv'],
              field_mappings: [
                { api_name: 'Parent_Id', index: 0, parent_column_index: 0 },
                { api_name: 'Language', index: 1 },
              ],
            },
          ],
        }),
      () =>
        sdkJob({}, [
          {
            module: 'Contacts',
            fileId: familyFiles.sdk,
            fileNames: ['contacts.csv'],
            mappings: [
              ['Last_Name', 1],
              ['Email', 2],
            ],
          },
          {
            module: 'Languages',
            fileId: familyFiles.sdk,
            fileNames: ['languages.csv'],
            mappings: [
              ['Parent_Id', 0, 0],
              ['Language', 1],
            ],
          },
        ]),
    );
    for (const jobs of [plainJobs, familyJobs]) {
      sandbox.clock.advance(100);
      const status = await both(
        'getBulkWriteJob',
        () => ours.getBulkWriteJob(jobs.ours.jobId),
        async () => answered(await new ZCRM.BulkWrite.BulkWriteOperations().getBulkWriteJobDetails(jobs.sdk)),
      );
      expect(status.ours.status).toBe('COMPLETED');
      const sdkStatus = status.sdk as InstanceType<typeof ZCRM.BulkWrite.BulkWriteResponse>;
      expect(sdkStatus.getStatus()).toBe('COMPLETED');
      const results = await both(
        'downloadBulkWriteResult',
        async () => readAll(await ours.downloadBulkWriteResult(status.ours.downloadUrl ?? '')),
        async () =>
          answered(
            await new ZCRM.BulkWrite.BulkWriteOperations().downloadBulkWriteResult(
              sdkStatus.getResult().getDownloadUrl(),
            ),
          ),
      );
      expect(results.ours.subarray(0, 2).toString()).toBe('PK');
      expect(results.sdk).toBeInstanceOf(ZCRM.BulkWrite.FileBodyWrapper);
    }
    expect(sandbox.inspect().records.Languages?.map((r) => r.Language)).toEqual(['German', 'German']);
  });

  it('exchange a grant code for a refresh token (npm run auth): the same form field names', async () => {
    const ours = await requestsDuring(sandbox, () =>
      exchangeGrantCode({
        accountsUrl: sandbox.accountsUrl,
        ...sandbox.credentials,
        code: sandbox.issueGrantCode(),
      }),
    );
    // The SDK exchanges a grant code when its token has one and no refresh token (oauth_token.js, generateAccessToken).
    const grant = new ZCRM.OAuthBuilder()
      .clientId(sandbox.credentials.clientId)
      .clientSecret(sandbox.credentials.clientSecret)
      .grantToken(sandbox.issueGrantCode())
      .findUser(false)
      .build();
    const viaSdk = await requestsDuring(sandbox, () => sdk.switchTo(grant));
    expect(ours.result.refreshToken).toMatch(/^sandbox-/);
    expectParity('exchangeGrantCode', ours.requests, viaSdk.requests);
  });
});

describe("where the project had Zoho wrong (the sandbox answers as Zoho's sources say, the client reads it)", () => {
  it('an unknown bulk write job: 400 RESOURCE_NOT_FOUND (crm-oas v8.0 bulk_write.json), which our client takes as not found', async () => {
    const unknown = '5725767999999999999';
    const answer = await new ZCRM.BulkWrite.BulkWriteOperations().getBulkWriteJobDetails(unknown);
    expect(answer.getStatusCode()).toBe(400);
    const refusal = answer.getObject() as InstanceType<typeof ZCRM.BulkWrite.APIException>;
    expect(refusal.getCode().getValue()).toBe('RESOURCE_NOT_FOUND');
    await expect(ours.getBulkWriteJob(unknown)).rejects.toBeInstanceOf(ZohoNotFoundError);
  });

  it("the file host's own envelope: ERROR_CODE a number, x-error a body property (the SDK's bulk_write/api_exception.ts), read by our client", async () => {
    sandbox.faults.set({ uploadErrorStyle: 'legacy-200' });
    try {
      const wrapper = new ZCRM.BulkWrite.FileBodyWrapper();
      wrapper.setFile(await sdk.file('not-a.zip', 'not a zip'));
      const headers = new ZCRM.HeaderMap();
      await headers.add(ZCRM.BulkWrite.UploadFileHeader.FEATURE, 'bulk-write');
      await headers.add(ZCRM.BulkWrite.UploadFileHeader.X_CRM_ORG, await ours.getOrgZgid());
      const answer = await new ZCRM.BulkWrite.BulkWriteOperations().uploadFile(wrapper, headers);
      expect(answer.getStatusCode()).toBe(200);
      const refusal = answer.getObject() as InstanceType<typeof ZCRM.BulkWrite.APIException>;
      expect(refusal).toBeInstanceOf(ZCRM.BulkWrite.APIException);
      expect(refusal.getErrorCode()).toBe(400);
      const said = refusal.getXError().getValue();
      expect(said).toBe('The file you uploaded is not in the zip format.');

      const error = await ours.uploadBulkFile(fileOf('not a zip', 'not-a.zip')).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZohoRequestError);
      expect((error as Error).message).toContain(said);
    } finally {
      sandbox.faults.reset();
    }
  });

  it('a v2-era file_id in a file-upload field attaches nothing (crm-oas v8.0 record.json FileDetails has File_Id__s)', async () => {
    const record = sandbox.createRecord('Leads', { Last_Name: 'Old keys' });
    const { fileId } = await ours.uploadFieldFile(fileOf('x', 'x.txt'));
    const call = client(sandbox, await mintToken(sandbox));
    const answer = await call(`/crm/v8/Leads/${record}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Documents: [{ file_id: fileId }] }] }),
    });
    expect(answer.status).toBe(400);
    expect(sandbox.inspect().fieldFiles.filter((f) => f.recordId === record)).toEqual([]);
  });

  it('every entry of exceptions.ts was needed by a run above', () => {
    expect(PARITY_EXCEPTIONS.filter((e) => !used.has(e))).toEqual([]);
  });
});

interface SdkResource {
  module: string;
  fileId: string;
  fileNames?: string[];
  findBy?: string;
  /** [api_name, index, parent_column_index?] */
  mappings: Array<[string, number, number?]>;
}

/** A bulk write job through the SDK's models (bulk_write/request_wrapper.ts, resource.ts, field_mapping.ts). */
async function sdkJob(options: { ignoreEmpty?: boolean }, resources: SdkResource[]): Promise<string> {
  const request = new ZCRM.BulkWrite.RequestWrapper();
  request.setOperation(new ZCRM.Choice('insert'));
  if (options.ignoreEmpty !== undefined) request.setIgnoreEmpty(options.ignoreEmpty);
  request.setResource(
    resources.map((spec) => {
      const resource = new ZCRM.BulkWrite.Resource();
      resource.setType(new ZCRM.Choice('data'));
      const module = new ZCRM.Modules.MinifiedModule();
      module.setAPIName(spec.module);
      resource.setModule(module);
      resource.setFileId(spec.fileId);
      if (spec.fileNames) resource.setFileNames(spec.fileNames);
      if (spec.findBy) resource.setFindBy(spec.findBy);
      resource.setFieldMappings(
        spec.mappings.map(([apiName, index, parentColumn]) => {
          const mapping = new ZCRM.BulkWrite.FieldMapping();
          mapping.setAPIName(apiName);
          mapping.setIndex(index);
          if (parentColumn !== undefined) mapping.setParentColumnIndex(parentColumn);
          return mapping;
        }),
      );
      return resource;
    }),
  );
  const answer = answered(await new ZCRM.BulkWrite.BulkWriteOperations().createBulkWriteJob(request));
  return String((answer as InstanceType<typeof ZCRM.BulkWrite.SuccessResponse>).getDetails().get('id'));
}

function zipOf(files: Record<string, string>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}
