/**
 * A file dropped under `fields/` lands in the record's file-upload field through the requests
 * Zoho's TypeScript SDK 8.0 makes for the same thing: the real attachment handler against an
 * embedded S3 and the sandbox, then the SDK's ZFS upload and record update on the same sandbox,
 * compared as sdk-parity.test.ts compares them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type Harness, startHarness } from '../integration/pipeline-harness.ts';
import { requestsDuring, type SdkRun, shapeOf, startSdk, ZCRM } from './sdk.ts';

let h: Harness;
let sdk: SdkRun;

beforeAll(async () => {
  h = await startHarness();
  sdk = await startSdk(h.sandbox);
});
afterAll(async () => {
  await sdk?.close();
  await h?.close();
});

/** The API host's requests that write: the ZFS upload and the record update. */
const writes = (requests: Awaited<ReturnType<typeof requestsDuring>>['requests']) =>
  requests.filter((r) => r.host === 'api' && r.method !== 'GET').map(shapeOf);

describe('a file under fields/ through the handler', () => {
  it('lands in the field by the ZFS upload and the File_Id__s update the SDK sends', async () => {
    const recordId = h.sandbox.createRecord('Leads', { Last_Name: 'Dropped' });
    const key = `fields/Leads/${recordId}/Documents/contract.pdf`;
    const event = await h.put(key, 'the signed contract');
    const handler = await requestsDuring(h.sandbox, () => h.deliver('attachment', event));
    expect(handler.result).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done' });
    const held = await adminClient(h.sandbox).getFieldFiles({ module: 'Leads', recordId }, 'Documents');
    expect('files' in held ? held.files.map((f) => f.fileName) : held).toEqual(['contract.pdf']);

    const viaSdk = await requestsDuring(h.sandbox, async () => {
      const upload = new ZCRM.Files.BodyWrapper();
      upload.setFile([await sdk.file('contract.pdf', 'the signed contract')]);
      const stored = (await new ZCRM.Files.FilesOperations().uploadFiles(upload)).getObject() as InstanceType<
        typeof ZCRM.Files.ActionWrapper
      >;
      const success = stored.getData()[0] as InstanceType<typeof ZCRM.Files.SuccessResponse>;
      const entry = new ZCRM.Record.FileDetails();
      entry.setFileIdS(success.getDetails().get('id') as string);
      const data = new ZCRM.Record.Record();
      data.addKeyValue('Documents', [entry]);
      const body = new ZCRM.Record.BodyWrapper();
      body.setData([data]);
      return new ZCRM.Record.RecordOperations('Leads').updateRecord(BigInt(recordId), body);
    });
    expect(viaSdk.result.getStatusCode()).toBe(200);
    expect(writes(handler.requests)).toEqual(writes(viaSdk.requests));
    expect(writes(handler.requests).map((w) => w.json)).toContainEqual([
      'data',
      'data[].Documents',
      'data[].Documents[].File_Id__s',
    ]);
  });
});
