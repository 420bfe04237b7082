/**
 * Files for a record's file-upload field, end to end through the attachment function: embedded S3
 * + Zoho sandbox on real ports, AWS-shaped events, the real handler. The field's files (through
 * the client, as an admin would look) and the object's tags are both checked.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_MAX_FILES } from '#sandbox/field-files.ts';
import type { FieldFileInfo, RecordRef, ZohoClient } from '#zoho/types.ts';
import { adminClient, type Harness, markPushing, startHarness } from './pipeline-harness.ts';

let h: Harness;
let zoho: ZohoClient;

beforeAll(async () => {
  h = await startHarness({ env: { PUSH_RETRY_BASE_MS: '50' } });
  zoho = adminClient(h.sandbox);
});
afterAll(() => h?.close());

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const newLead = (name: string): RecordRef => ({
  module: 'Leads',
  recordId: h.sandbox.createRecord('Leads', { Last_Name: name }),
});

async function documents(lead: RecordRef): Promise<FieldFileInfo[]> {
  const held = await zoho.getFieldFiles(lead, 'Documents');
  if (!('files' in held)) throw new Error('Documents should hold files');
  return held.files;
}

/** Puts a file in the field as a person in Zoho CRM would. */
async function addByHand(lead: RecordRef, name: string, bytes: Buffer | string): Promise<string> {
  const data = Buffer.from(bytes);
  const { fileId } = await zoho.uploadFieldFile({
    body: Readable.from([data]),
    fileName: name,
    size: data.length,
  });
  await zoho.addFieldFiles(lead, 'Documents', [fileId]);
  return fileId;
}

/** The API calls the sandbox saw from `since` on: method and path. */
const callsSince = (since: number) =>
  h.sandbox
    .inspect()
    .requests.slice(since)
    .filter((r) => r.host === 'api')
    .map((r) => `${r.method} ${r.path.replace(/^\/api/, '').replace(/\?.*$/, '')}`);
const requestCount = () => h.sandbox.inspect().requests.length;

describe('file-upload fields', () => {
  it('puts the file in the field, keeps the files already there, and tags the object done with the file id', async () => {
    const lead = newLead('Fields');
    const earlier = await addByHand(lead, 'earlier.pdf', 'a file someone put there before');
    const body = Buffer.from('the signed contract\n'.repeat(100));
    const key = `fields/Leads/${lead.recordId}/Documents/Signed contract 東京.pdf`;

    expect(await h.deliver('attachment', await h.put(key, body))).toEqual([]);

    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done' });
    const files = await documents(lead);
    expect(files.map((f) => [f.fileName, f.fileId])).toEqual([
      ['earlier.pdf', earlier],
      ['Signed contract 東京.pdf', tags['zoho-id']],
    ]);
    const stored = h.sandbox.inspect().fieldFiles.find((f) => f.fileId === tags['zoho-id']);
    expect(stored?.sha256).toBe(sha256(body));

    // The same bytes dropped again under the key are the same file: not a second one.
    expect(await h.deliver('attachment', await h.put(key, body))).toEqual([]);
    expect(await h.tags(key)).toMatchObject({
      'zoho-status': 'skipped',
      'zoho-error': 'ALREADY_PUSHED',
      'zoho-id': tags['zoho-id'],
    });
    expect(await documents(lead)).toHaveLength(2);
  });

  it('finds the record by a field value, as attachments do', async () => {
    const lead: RecordRef = {
      module: 'Leads',
      recordId: h.sandbox.createRecord('Leads', { Last_Name: 'Lookup', Email: 'field.files@example.com' }),
    };
    const key = 'fields/Leads/by/Email/field.files@example.com/Documents/brief.txt';
    await h.deliver('attachment', await h.put(key, 'found by email'));
    const tags = await h.tags(key);
    expect(tags['zoho-status']).toBe('done');
    expect((await documents(lead)).map((f) => [f.fileName, f.fileId])).toEqual([
      ['brief.txt', tags['zoho-id']],
    ]);
  });

  it('refuses a file over 20 MB before any Zoho call, with a reason', async () => {
    const lead = newLead('Too large');
    const key = `fields/Leads/${lead.recordId}/Documents/scan.tiff`;
    const event = await h.put(key, Buffer.alloc(20 * 1024 * 1024 + 1, 7));
    const since = requestCount();
    expect(await h.deliver('attachment', event)).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'FILE_TOO_LARGE' });
    expect(tags['zoho-reason']).toContain('file-upload fields up to 20 MB');
    expect(callsSince(since)).toEqual([]);
  });

  it("leaves a full field to Zoho: its refusal is reported with Zoho's code, never a count of ours", async () => {
    const lead = newLead('Full');
    // ⚠ The sandbox's assumed 5 files (no Zoho source gives a number); the pipeline counts none.
    for (let i = 0; i < FIELD_MAX_FILES; i += 1) await addByHand(lead, `f${i}.txt`, `file ${i}`);
    const key = `fields/Leads/${lead.recordId}/Documents/one-more.txt`;
    const event = await h.put(key, 'one file too many');
    const since = requestCount();
    expect(await h.deliver('attachment', event)).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'LIMIT_EXCEEDED' });
    expect(callsSince(since)).toEqual([
      `GET /crm/v8/Leads/${lead.recordId}`,
      'POST /crm/v8/files',
      `PUT /crm/v8/Leads/${lead.recordId}`,
    ]);
    expect(await documents(lead)).toHaveLength(FIELD_MAX_FILES);
  });

  it("refuses a field that is not a file-upload field: Zoho's code when it is empty, ours when it holds a value", async () => {
    const lead = newLead('Not files');
    const empty = `fields/Leads/${lead.recordId}/Description/notes.txt`;
    await h.deliver('attachment', await h.put(empty, 'notes'));
    expect(await h.tags(empty)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'INVALID_DATA' });

    const filled = `fields/Leads/${lead.recordId}/Last_Name/notes.txt`;
    const since = requestCount();
    await h.deliver('attachment', await h.put(filled, 'notes'));
    expect(await h.tags(filled)).toMatchObject({
      'zoho-status': 'failed',
      'zoho-error': 'NOT_A_FILE_UPLOAD_FIELD',
    });
    expect(callsSince(since)).toEqual([`GET /crm/v8/Leads/${lead.recordId}`]);
  });

  it('lands the file once when the answer to its upload was lost', async () => {
    const lead = newLead('Lost answer');
    const key = `fields/Leads/${lead.recordId}/Documents/lost-answer.txt`;
    const event = await h.put(key, 'the answer to this upload never arrives');
    h.sandbox.faults.set({ dropResponseAfterUpload: 1 });
    expect(await h.deliver('attachment', event)).toEqual([]);
    const files = await documents(lead);
    expect(files.map((f) => f.fileName)).toEqual(['lost-answer.txt']);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-id': files[0]?.fileId });
  });

  it('after a crash, adopts a file in the field only when it holds the object’s own bytes', async () => {
    const lead = newLead('Crash');
    // What a crash leaves behind: the object marked `pushing`, the file in the field, no outcome.
    const same = `fields/Leads/${lead.recordId}/Documents/crash.txt`;
    const sameEvent = await h.put(same, 'uploaded by a Lambda that died');
    await markPushing(h, same);
    const landed = await addByHand(lead, 'crash.txt', 'uploaded by a Lambda that died');
    expect(await h.deliver('attachment', sameEvent)).toEqual([]);
    expect(await h.tags(same)).toMatchObject({ 'zoho-status': 'done', 'zoho-id': landed });
    expect(await documents(lead)).toHaveLength(1);

    // Same name and size, other bytes: not this object's file, so it is pushed.
    const other = `fields/Leads/${lead.recordId}/Documents/twin.txt`;
    const otherEvent = await h.put(other, 'bytes of this object');
    await markPushing(h, other);
    const impostor = await addByHand(lead, 'twin.txt', 'bytes of that object');
    expect(await h.deliver('attachment', otherEvent)).toEqual([]);
    const tags = await h.tags(other);
    expect(tags['zoho-status']).toBe('done');
    expect(tags['zoho-id']).not.toBe(impostor);
    const twins = (await documents(lead)).filter((f) => f.fileName === 'twin.txt');
    expect(twins.map((f) => f.fileId).sort()).toEqual([impostor, tags['zoho-id']].sort());
  });
});
