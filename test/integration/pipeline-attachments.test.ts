/**
 * The attachments Lambda end to end: embedded S3 + Zoho sandbox on real ports, AWS-shaped events,
 * the real handler. What the object says (tags) and what Zoho holds (the sandbox) are both checked.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLambdaContext } from '#tools/local/event-source.ts';
import { s3EventFor } from '#tools/ops/requeue.ts';
import type { ZohoClient } from '#zoho/types.ts';
import { adminClient, type Harness, markPushing, startHarness } from './pipeline-harness.ts';

let h: Harness;
let leadId: string;
/** The test's own view of Zoho, through the client, as a CRM admin would look. */
let zoho: ZohoClient;

beforeAll(async () => {
  h = await startHarness({ env: { ATTACHMENT_MAX_BYTES: String(64 * 1024), PUSH_RETRY_BASE_MS: '50' } });
  leadId = h.sandbox.seed.Leads?.[0] ?? '';
  zoho = adminClient(h.sandbox);
});
afterAll(() => h?.close());

async function attachmentsOf(module: string, recordId: string) {
  return zoho.listAttachments({ module, recordId });
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('attachments', () => {
  it('lands a file with spaces, + and non-ASCII in its name, and tags the object done with the attachment id', async () => {
    const fileName = 'Résumé + notes 東京 2026.txt';
    const body = Buffer.from('a contract, with bytes that must arrive intact\n'.repeat(50));
    const key = `attachments/Leads/${leadId}/${fileName}`;
    const event = await h.put(key, body);
    expect(event.Records[0]?.s3.object.key).toBe(
      `attachments/Leads/${leadId}/R%C3%A9sum%C3%A9+%2B+notes+%E6%9D%B1%E4%BA%AC+2026.txt`,
    );

    expect(await h.deliver('attachment', event)).toEqual([]);

    const tags = await h.tags(key);
    expect(tags['zoho-status']).toBe('done');
    const landed = (await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === fileName);
    expect(landed).toHaveLength(1);
    expect(landed[0]?.id).toBe(tags['zoho-id']);
    expect(landed[0]?.size).toBe(body.length);
    const received = h.sandbox.inspect().attachments.find((a) => a.id === tags['zoho-id']);
    expect(received?.sha256).toBe(sha256(body));
  });

  it('makes five S3 calls for a new object pushed to a named record, six for one with tags of its own', async () => {
    const calls: string[] = [];
    const middleware = 'count-s3-calls';
    h.deps.attachment.s3.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize', name: middleware },
    );
    try {
      const key = `attachments/Leads/${leadId}/counted.txt`;
      expect(await h.deliver('attachment', await h.put(key, 'counted'))).toEqual([]);
      expect((await h.tags(key))['zoho-status']).toBe('done');
      // The look says the object has no tags: none to read before the `pushing` mark. The outcome
      // reads them again (anything may have tagged the object during the upload).
      expect(calls.splice(0)).toEqual([
        'HeadObjectCommand',
        'PutObjectTaggingCommand',
        'GetObjectCommand',
        'GetObjectTaggingCommand',
        'PutObjectTaggingCommand',
      ]);

      const tagged = `attachments/Leads/${leadId}/counted-tagged.txt`;
      const event = await h.put(tagged, 'counted, tagged');
      await h.s3.send(
        new PutObjectTaggingCommand({
          Bucket: h.bucket,
          Key: tagged,
          Tagging: { TagSet: [{ Key: 'team', Value: 'sales' }] },
        }),
      );
      expect(await h.deliver('attachment', event)).toEqual([]);
      expect(await h.tags(tagged)).toMatchObject({ team: 'sales', 'zoho-status': 'done' });
      // The read before the push serves the `pushing` mark.
      expect(calls).toEqual([
        'HeadObjectCommand',
        'GetObjectTaggingCommand',
        'PutObjectTaggingCommand',
        'GetObjectCommand',
        'GetObjectTaggingCommand',
        'PutObjectTaggingCommand',
      ]);
    } finally {
      h.deps.attachment.s3.middlewareStack.remove(middleware);
    }
  });

  it('finds the object of an EventBridge event whether its key came URL-encoded or as it is', async () => {
    const fileName = 'C++ notes.txt';
    const key = `attachments/Leads/${leadId}/${fileName}`;
    const put = await h.put(key, 'notes');
    const eventBridge = (carried: string) => ({
      version: '0',
      id: `eb-${carried.length}`,
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:s3:::${h.bucket}`],
      detail: {
        version: '0',
        bucket: { name: h.bucket },
        object: { key: carried, size: 5, etag: put.Records[0]?.s3.object.eTag },
        reason: 'PutObject',
      },
    });
    expect(await h.deliver('attachment', eventBridge(key))).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'done' });
    // The same event with the key encoded as S3's notifications do: the same object, pushed once.
    expect(await h.deliver('attachment', eventBridge(put.Records[0]?.s3.object.key ?? ''))).toEqual([]);
    const landed = (await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === fileName);
    expect(landed.map((a) => a.id)).toEqual([tags['zoho-id']]);
  });

  it('resolves a lookup route by Email to the one record, and refuses none or several', async () => {
    const email = h.sandbox.inspect().records.Contacts?.[0]?.Email as string;
    const contactId = h.sandbox.seed.Contacts?.[0] ?? '';
    const hit = `attachments/Contacts/by/Email/${email}/cv.txt`;
    await h.deliver('attachment', await h.put(hit, 'curriculum'));
    expect(await h.tags(hit)).toMatchObject({ 'zoho-status': 'done' });
    expect((await attachmentsOf('Contacts', contactId)).map((a) => a.fileName)).toContain('cv.txt');

    const none = 'attachments/Contacts/by/Email/nobody@example.invalid/cv.txt';
    await h.deliver('attachment', await h.put(none, 'curriculum'));
    expect(await h.tags(none)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'LOOKUP_NO_MATCH' });

    h.sandbox.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd' });
    h.sandbox.createRecord('Accounts', { Account_Name: 'Twin Peaks Ltd' });
    const twins = 'attachments/Accounts/by/Account_Name/Twin Peaks Ltd/deck.txt';
    await h.deliver('attachment', await h.put(twins, 'slides'));
    expect(await h.tags(twins)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'LOOKUP_AMBIGUOUS' });
  });

  it('runs a failed object again when its event is replayed after the cause was fixed', async () => {
    const key = 'attachments/Contacts/by/Email/late.comer@example.com/intro.txt';
    const event = await h.put(key, 'hello');
    await h.deliver('attachment', event);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'LOOKUP_NO_MATCH' });

    const contactId = h.sandbox.createRecord('Contacts', {
      Last_Name: 'Comer',
      Email: 'late.comer@example.com',
    });
    expect(await h.deliver('attachment', event)).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done' });
    expect((await attachmentsOf('Contacts', contactId)).map((a) => a.fileName)).toEqual(['intro.txt']);
  });

  it('lets object metadata name the record instead of the key', async () => {
    const contactId = h.sandbox.seed.Contacts?.[1] ?? '';
    const key = `attachments/Leads/${leadId}/routed-by-metadata.txt`;
    const event = await h.put(key, 'hello', { 'zoho-module': 'Contacts', 'zoho-record-id': contactId });
    await h.deliver('attachment', event);
    expect((await h.tags(key))['zoho-status']).toBe('done');
    expect((await attachmentsOf('Contacts', contactId)).map((a) => a.fileName)).toContain(
      'routed-by-metadata.txt',
    );
  });

  it('attaches to Notes like any module', async () => {
    const noteId = h.sandbox.seed.Notes?.[0] ?? '';
    const key = `attachments/Notes/${noteId}/minutes.txt`;
    await h.deliver('attachment', await h.put(key, 'minutes of the meeting'));
    expect((await h.tags(key))['zoho-status']).toBe('done');
    expect((await attachmentsOf('Notes', noteId)).map((a) => a.fileName)).toContain('minutes.txt');
  });

  it.each([
    ['an .exe', `attachments/Leads/{lead}/setup.EXE`, 'MZ binary', 'FORBIDDEN_TYPE'],
    ['an empty file', `attachments/Leads/{lead}/empty.txt`, '', 'EMPTY_FILE'],
    [
      'a file over ATTACHMENT_MAX_BYTES',
      `attachments/Leads/{lead}/big.bin`,
      'x'.repeat(64 * 1024 + 1),
      'FILE_TOO_LARGE',
    ],
    ['a record id that is not digits', 'attachments/Leads/12a4/file.txt', 'x', 'INVALID_RECORD_ID'],
    ['a module that is not an API name', 'attachments/Le-ads/123/file.txt', 'x', 'INVALID_MODULE'],
    ['a key smuggling path segments', 'attachments/Leads/123/../../org/file.txt', 'x', 'INVALID_KEY'],
    ['a record Zoho does not have', 'attachments/Leads/1234567890123456789/file.txt', 'x', 'INVALID_DATA'],
    [
      'a module Zoho does not have',
      'attachments/Unicorns/1234567890123456789/file.txt',
      'x',
      'INVALID_MODULE',
    ],
  ])('refuses %s with a reason and leaves the object untouched', async (_what, template, body, code) => {
    const key = template.replace('{lead}', leadId);
    const before = (await attachmentsOf('Leads', leadId)).length;
    expect(await h.deliver('attachment', await h.put(key, body))).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': code });
    expect(tags['zoho-reason']?.length).toBeGreaterThan(10);
    expect(await h.read(key)).toBe(body);
    expect((await attachmentsOf('Leads', leadId)).length).toBe(before);
  });

  it('skips keys no route matches and folder markers', async () => {
    const key = 'attachments/just-a-file.txt';
    await h.deliver('attachment', await h.put(key, 'x'));
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'skipped', 'zoho-error': 'UNROUTED' });
  });

  it('pushes once when the same event arrives twice, and when two copies run at once', async () => {
    const key = `attachments/Leads/${leadId}/once.txt`;
    const event = await h.put(key, 'exactly once');
    await Promise.all([h.deliver('attachment', event), h.deliver('attachment', event)]);
    // The copy that found the other in progress failed its record so SQS redelivers it.
    expect(await h.deliver('attachment', event)).toEqual([]);
    expect(await h.deliver('attachment', event)).toEqual([]);
    const landed = (await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'once.txt');
    expect(landed).toHaveLength(1);
    expect((await h.tags(key))['zoho-id']).toBe(landed[0]?.id);
  });

  it('makes one attachment of the same bytes put again under the same key: the re-drop is skipped', async () => {
    const key = `attachments/Leads/${leadId}/weekly report.txt`;
    await h.deliver('attachment', await h.put(key, 'same bytes'));
    const first = await h.tags(key);
    expect(first['zoho-status']).toBe('done');
    expect(await h.deliver('attachment', await h.put(key, 'same bytes'))).toEqual([]);
    expect(await h.tags(key)).toMatchObject({
      'zoho-status': 'skipped',
      'zoho-error': 'ALREADY_PUSHED',
      'zoho-id': first['zoho-id'],
    });
    const landed = (await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'weekly report.txt');
    expect(landed.map((a) => a.id)).toEqual([first['zoho-id']]);
  });

  it('makes one attachment of two identical PUTs delivered at once', async () => {
    const key = `attachments/Leads/${leadId}/twice at once.txt`;
    const a = await h.put(key, 'put twice by an uploader that retried');
    const b = await h.put(key, 'put twice by an uploader that retried');
    const settle = async (event: S3Event) => {
      for (let round = 0; round < 20 && (await h.deliver('attachment', event)).length > 0; round += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    await Promise.all([settle(a), settle(b)]);
    const landed = (await attachmentsOf('Leads', leadId)).filter((x) => x.fileName === 'twice at once.txt');
    expect(landed).toHaveLength(1);
    expect((await h.tags(key))['zoho-id']).toBe(landed[0]?.id);
  });

  it('pushes a second copy when asked (zoho-push: again, replay --force), and new bytes as a new push', async () => {
    const key = `attachments/Leads/${leadId}/on purpose.txt`;
    const event = await h.put(key, 'version one');
    await h.deliver('attachment', event);
    await h.deliver('attachment', await h.put(key, 'version one', { 'zoho-push': 'again' }));
    expect((await h.tags(key))['zoho-status']).toBe('done');
    const forced = s3EventFor(
      h.bucket,
      { key, size: 11, eTag: event.Records[0]?.s3.object.eTag ?? '', versionId: undefined },
      {
        region: 'us-east-1',
        eventTime: new Date(),
        sequencer: 'FF00000000000001',
        configurationId: 's3-to-zoho-replay-force',
      },
    );
    expect(await h.deliver('attachment', forced)).toEqual([]);
    expect(await h.deliver('attachment', forced)).toEqual([]); // the same forced event again: no 4th copy
    await h.deliver('attachment', await h.put(key, 'version two'));
    const landed = (await attachmentsOf('Leads', leadId)).filter((x) => x.fileName === 'on purpose.txt');
    expect(landed).toHaveLength(4);
    expect(new Set(landed.map((x) => x.id)).size).toBe(4);
  });

  it('never adopts an attachment of the same name and size that holds other bytes', async () => {
    const key = `attachments/Leads/${leadId}/same size.txt`;
    await h.deliver('attachment', await h.put(key, 'old bytes, 24 of them...'));
    const old = (await h.tags(key))['zoho-id'];
    const fresh = Buffer.from('new bytes, 24 of them!!!');
    const event = await h.put(key, fresh);
    h.sandbox.faults.set({ resetDuringUpload: 1 });
    for (let round = 0; round < 3 && (await h.deliver('attachment', event)).length > 0; round += 1);
    const tags = await h.tags(key);
    expect(tags['zoho-status']).toBe('done');
    expect(tags['zoho-id']).not.toBe(old);
    expect(h.sandbox.inspect().attachments.find((a) => a.id === tags['zoho-id'])?.sha256).toBe(sha256(fresh));
  });

  it('pushes a copy of a pushed object: the tags it inherits are not its own', async () => {
    const source = `attachments/Leads/${leadId}/original.txt`;
    await h.deliver('attachment', await h.put(source, 'copied around'));
    expect((await h.tags(source))['zoho-status']).toBe('done');
    // S3's LastModified has whole seconds: a copy made in the same second as the push looks pushed.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const contactId = h.sandbox.seed.Contacts?.[2] ?? '';
    const copy = `attachments/Contacts/${contactId}/original.txt`;
    const event = await h.copy(source, copy);
    expect((await h.tags(copy))['zoho-status']).toBe('done');

    expect(await h.deliver('attachment', event)).toEqual([]);
    const landed = (await attachmentsOf('Contacts', contactId)).filter((a) => a.fileName === 'original.txt');
    expect(landed).toHaveLength(1);
    expect((await h.tags(copy))['zoho-id']).toBe(landed[0]?.id);
  });

  it('does not push again after the connection was lost once the upload went out', async () => {
    const key = `attachments/Leads/${leadId}/lost-answer.txt`;
    const event = await h.put(key, 'the answer to this upload never arrives');
    h.sandbox.faults.set({ dropResponseAfterUpload: 1 });
    // The retry in the same delivery looks first, finds the upload holding these bytes, adopts it.
    expect(await h.deliver('attachment', event)).toEqual([]);
    expect(await h.deliver('attachment', event)).toEqual([]);
    const landed = (await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'lost-answer.txt');
    expect(landed).toHaveLength(1);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-id': landed[0]?.id });
  });

  it('does not push again after a Lambda died between the upload and recording it', async () => {
    const key = `attachments/Leads/${leadId}/crash.txt`;
    const body = 'uploaded by a Lambda that died right after';
    const event = await h.put(key, body);
    // What a crash leaves behind: the object marked `pushing`, the attachment in Zoho, no outcome.
    await markPushing(h, key);
    await zoho.uploadAttachment(
      { module: 'Leads', recordId: leadId },
      { body: Readable.from([Buffer.from(body)]), fileName: 'crash.txt', size: Buffer.byteLength(body) },
    );

    expect(await h.deliver('attachment', event)).toEqual([]);
    expect((await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'crash.txt')).toHaveLength(1);
    expect((await h.tags(key))['zoho-status']).toBe('done');
  });

  it('retries a 429 or 5xx upload in-process, re-reading the object, and lands it in one delivery', async () => {
    const key = `attachments/Leads/${leadId}/busy.txt`;
    const event = await h.put(key, 'zoho was busy');
    h.sandbox.faults.set({
      failNext: [
        { status: 429, code: 'TOO_MANY_REQUESTS', times: 1, path: '/Attachments' },
        { status: 500, code: 'INTERNAL_ERROR', times: 1, path: '/Attachments' },
      ],
    });
    expect(await h.deliver('attachment', event)).toEqual([]);
    expect((await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'busy.txt')).toHaveLength(1);
    const tags = await h.tags(key);
    expect(tags['zoho-status']).toBe('done');
    expect(tags['zoho-error']).toBeUndefined();
  });

  it('says `retrying` and when while it waits, then hands over to the queue once the attempts run out', async () => {
    const key = `attachments/Leads/${leadId}/very busy.txt`;
    const event = await h.put(key, 'zoho was very busy');
    h.sandbox.faults.set({
      failNext: [{ status: 429, code: 'TOO_MANY_REQUESTS', times: 10, path: '/Attachments' }],
    });
    const seen: Array<Record<string, string>> = [];
    try {
      const delivery = h.deliver('attachment', event);
      let done = false;
      void delivery.finally(() => {
        done = true;
      });
      while (!done) {
        seen.push(await h.tags(key));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(await delivery).toHaveLength(1);
    } finally {
      h.sandbox.faults.reset();
    }
    const waiting = seen.find((tags) => tags['zoho-retry-at']);
    expect(waiting).toMatchObject({ 'zoho-status': 'retrying', 'zoho-error': 'TOO_MANY_REQUESTS' });
    expect(Date.parse(waiting?.['zoho-retry-at'] ?? '')).toBeGreaterThan(
      Date.parse(waiting?.['zoho-at'] ?? ''),
    );
    const handedOver = await h.tags(key);
    expect(handedOver).toMatchObject({ 'zoho-status': 'retrying', 'zoho-error': 'TOO_MANY_REQUESTS' });
    expect(handedOver['zoho-attempt']).toBeDefined();

    expect(await h.deliver('attachment', event)).toEqual([]);
    expect((await attachmentsOf('Leads', leadId)).filter((a) => a.fileName === 'very busy.txt')).toHaveLength(
      1,
    );
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done' });
  });

  it('never lets a retry note overwrite a `done` another delivery wrote meanwhile', async () => {
    const key = `attachments/Leads/${leadId}/raced.txt`;
    const event = await h.put(key, 'two deliveries race');
    // Zoho answers slowly, and with a 500: the other delivery records its outcome while this one's
    // upload is under way, before the retry note reads the tags (S3 has no conditional tagging:
    // a write between that read and the note's write could not be seen).
    h.sandbox.faults.set({
      latencyMs: 300,
      failNext: [{ status: 500, code: 'INTERNAL_ERROR', times: 10, path: '/Attachments' }],
    });
    try {
      const delivery = h.deliver('attachment', event);
      for (let i = 0; i < 200 && (await h.tags(key))['zoho-status'] !== 'pushing'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await h.s3.send(
        new PutObjectTaggingCommand({
          Bucket: h.bucket,
          Key: key,
          Tagging: {
            TagSet: [
              { Key: 'zoho-status', Value: 'done' },
              { Key: 'zoho-id', Value: '1234' },
              { Key: 'zoho-at', Value: new Date(Date.now() + 1_000).toISOString() },
            ],
          },
        }),
      );
      await delivery;
    } finally {
      h.sandbox.faults.reset();
    }
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-id': '1234' });
  });

  it('marks an object `retrying` with the reason when Zoho fails before any upload', async () => {
    const email = h.sandbox.inspect().records.Contacts?.[2]?.Email as string;
    const key = `attachments/Contacts/by/Email/${email}/later.txt`;
    const event = await h.put(key, 'search is down');
    h.sandbox.faults.set({ failNext: [{ status: 500, code: 'INTERNAL_ERROR', times: 10, path: '/search' }] });
    try {
      expect(await h.deliver('attachment', event)).toHaveLength(1);
    } finally {
      h.sandbox.faults.reset();
    }
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'retrying', 'zoho-error': 'INTERNAL_ERROR' });
    expect(await h.deliver('attachment', event)).toEqual([]);
    expect((await h.tags(key))['zoho-status']).toBe('done');
  });

  it('attaches a .url or .webloc as a link titled with its name; the same URL again is skipped', async () => {
    const accountId = h.sandbox.seed.Accounts?.[1] ?? '';
    const shortcut = `attachments/Accounts/${accountId}/Price list.url`;
    await h.deliver(
      'attachment',
      await h.put(shortcut, '[InternetShortcut]\r\nURL=https://www.example.com/prices?year=2026\r\n'),
    );
    const first = await h.tags(shortcut);
    expect(first['zoho-status']).toBe('done');
    const stored = h.sandbox.inspect().attachments.find((a) => a.id === first['zoho-id']);
    expect(stored).toMatchObject({
      linkUrl: 'https://www.example.com/prices?year=2026',
      fileName: 'Price list',
    });

    const webloc = `attachments/Accounts/${accountId}/Same prices.webloc`;
    const plist =
      '<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>URL</key><string>https://www.example.com/prices?year=2026</string></dict></plist>';
    expect(await h.deliver('attachment', await h.put(webloc, plist))).toEqual([]);
    expect(await h.tags(webloc)).toMatchObject({
      'zoho-status': 'skipped',
      'zoho-error': 'LINK_ALREADY_ATTACHED',
      'zoho-id': first['zoho-id'],
    });
    const links = h.sandbox.inspect().attachments.filter((a) => a.recordId === accountId && a.linkUrl);
    expect(links).toHaveLength(1);

    const broken = `attachments/Accounts/${accountId}/broken.url`;
    await h.deliver('attachment', await h.put(broken, '[InternetShortcut]\r\nURL=file:///etc/passwd\r\n'));
    expect(await h.tags(broken)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'INVALID_LINK' });
  });

  it('accepts a direct S3 event (no queue) too', async () => {
    const key = `attachments/Leads/${leadId}/direct.txt`;
    const event = await h.put(key, 'direct from S3');
    await h.handlers.attachment(
      event,
      createLambdaContext({ functionName: 'attachments', timeoutMs: 60_000 }),
    );
    expect((await h.tags(key))['zoho-status']).toBe('done');
  });
});
