import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { decodeS3EventKey } from '#lib/s3/event.ts';
import {
  createLocalS3Client,
  type LocalS3,
  type LocalS3Notice,
  type S3Notification,
  startLocalS3,
} from '#tools/local/s3.ts';

let s3: LocalS3;
let client: S3Client;
let directory: string;
let notifications: S3Notification[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'local-s3-'));
  s3 = await startLocalS3({ directory, bucket: 'inbox' });
  s3.onNotification((notification) => void notifications.push(notification));
  client = createLocalS3Client(s3.endpoint);
});

afterAll(async () => {
  client.destroy();
  await s3.close();
  await rm(directory, { recursive: true, force: true });
});

beforeEach(() => {
  notifications = [];
});

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

async function put(key: string, body = 'content'): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: body }));
}

async function notificationFor(key: string): Promise<S3Notification> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const found = notifications.find((n) => n.key === key);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`No notification for ${key}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the local bucket’s event notifications', () => {
  it('sends an object-created event in the shape S3 gives SQS', async () => {
    await put('attachments/Leads/1234567890123456789/report.pdf', 'hello');
    const { event, rule } = await notificationFor('attachments/Leads/1234567890123456789/report.pdf');

    expect(rule.target).toBe('attachment');
    expect(event.Records).toHaveLength(1);
    const record = event.Records[0];
    expect(record).toMatchObject({
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventName: 'ObjectCreated:Put',
      userIdentity: { principalId: expect.any(String) },
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      responseElements: {
        'x-amz-request-id': expect.stringMatching(/^[0-9A-F]{16}$/),
        'x-amz-id-2': expect.any(String),
      },
      s3: {
        s3SchemaVersion: '1.0',
        configurationId: 'attachments',
        bucket: {
          name: 'inbox',
          ownerIdentity: { principalId: expect.any(String) },
          arn: 'arn:aws:s3:::inbox',
        },
        object: {
          key: 'attachments/Leads/1234567890123456789/report.pdf',
          size: 5,
          eTag: md5('hello'),
          sequencer: expect.stringMatching(/^[0-9A-F]{18}$/),
        },
      },
    });
    expect(new Date(record?.eventTime ?? '').toISOString()).toBe(record?.eventTime);
    expect(record?.s3.object).not.toHaveProperty('versionId');
    // What S3 puts on the queue is this record, alone, as the message body.
    expect(JSON.parse(JSON.stringify(event))).toEqual(event);
  });

  it.each([
    ['attachments/Leads/1/my file.pdf', 'attachments/Leads/1/my+file.pdf'],
    ['attachments/Leads/1/a+b=c&d.pdf', 'attachments/Leads/1/a%2Bb%3Dc%26d.pdf'],
    [
      'attachments/Leads/1/Résumé – 日本 (1).pdf',
      'attachments/Leads/1/R%C3%A9sum%C3%A9+%E2%80%93+%E6%97%A5%E6%9C%AC+%281%29.pdf',
    ],
    ['attachments/Leads/1/100%~ok,#1.txt', 'attachments/Leads/1/100%25%7Eok%2C%231.txt'],
  ])('encodes the key %j as S3 does, and it decodes back exactly', async (key, encoded) => {
    await put(key);
    const { event } = await notificationFor(key);
    const eventKey = event.Records[0]?.s3.object.key ?? '';

    expect(eventKey).toBe(encoded);
    expect(decodeS3EventKey(eventKey)).toBe(key);
    const stored = await client.send(
      new GetObjectCommand({ Bucket: 'inbox', Key: decodeS3EventKey(eventKey) }),
    );
    expect(await stored.Body?.transformToString()).toBe('content');
  });

  it('routes by the notification filters: prefix per kind, every file under bulk-write/', async () => {
    await put('photos/Contacts/42.png');
    const bulkFiles = ['leads.zip', 'LEADS.ZIP', 'leads.csv', 'Leads.CSV', 'notes.txt'];
    for (const name of bulkFiles) await put(`bulk-write/Leads/insert/${name}`);
    expect((await notificationFor('photos/Contacts/42.png')).rule.target).toBe('photo');
    for (const name of bulkFiles) {
      expect((await notificationFor(`bulk-write/Leads/insert/${name}`)).rule).toMatchObject({
        target: 'bulk-write',
        id: 'bulk-write',
      });
    }
  });

  it('delivers nothing for keys outside the prefixes or under the results prefix', async () => {
    await put('loose.pdf');
    await put('bulk-write-results/Leads/insert/leads.results.csv');
    await put('Attachments/Leads/1/upper-case-prefix.pdf');
    await put('attachments/Leads/1/sentinel.pdf');
    await notificationFor('attachments/Leads/1/sentinel.pdf');

    expect(notifications.map((n) => n.key)).toEqual(['attachments/Leads/1/sentinel.pdf']);
  });

  it('says why a key reaches no queue: under no prefix, or cut by a suffix filter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'local-s3-suffix-'));
    const rules = [{ id: 'zips', target: 'bulk-write', prefix: 'imports/', suffix: '.zip' }];
    const filtered = await startLocalS3({ directory: dir, bucket: 'inbox', notifications: rules });
    const other = createLocalS3Client(filtered.endpoint);
    const notices: LocalS3Notice[] = [];
    filtered.onNotice((notice) => notices.push(notice));
    try {
      for (const key of ['elsewhere/a.zip', 'imports/a.csv']) {
        await other.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'x' }));
      }
      expect(notices).toEqual([
        {
          type: 'unrouted',
          key: 'elsewhere/a.zip',
          reason: expect.stringContaining('under no watched prefix'),
        },
        {
          type: 'unrouted',
          key: 'imports/a.csv',
          reason:
            'under imports/, but its notification takes only keys ending ".zip" (S3 matches a suffix case-sensitively)',
        },
      ]);
    } finally {
      other.destroy();
      await filtered.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names copies and multipart uploads as S3 does, and sends nothing for a delete', async () => {
    await put('attachments/Leads/1/original.pdf', 'copied bytes');
    await client.send(
      new CopyObjectCommand({
        Bucket: 'inbox',
        Key: 'attachments/Leads/2/copy.pdf',
        CopySource: 'inbox/attachments/Leads/1/original.pdf',
      }),
    );
    const copy = (await notificationFor('attachments/Leads/2/copy.pdf')).event.Records[0];
    expect(copy?.eventName).toBe('ObjectCreated:Copy');
    expect(copy?.s3.object).toMatchObject({ size: 12, eTag: md5('copied bytes') });

    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: 'inbox', Key: 'photos/Leads/3.png' }),
    );
    const part = await client.send(
      new UploadPartCommand({
        Bucket: 'inbox',
        Key: 'photos/Leads/3.png',
        UploadId,
        PartNumber: 1,
        Body: 'one part',
      }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'inbox',
        Key: 'photos/Leads/3.png',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const multipart = (await notificationFor('photos/Leads/3.png')).event.Records[0];
    expect(multipart?.eventName).toBe('ObjectCreated:CompleteMultipartUpload');

    await client.send(new DeleteObjectCommand({ Bucket: 'inbox', Key: 'attachments/Leads/1/original.pdf' }));
    await put('attachments/Leads/1/sentinel-2.pdf');
    await notificationFor('attachments/Leads/1/sentinel-2.pdf');
    expect(notifications.map((n) => n.event.Records[0]?.eventName)).not.toContain('ObjectRemoved:Delete');
    expect(notifications.filter((n) => n.key === 'attachments/Leads/1/original.pdf')).toHaveLength(1);
  });

  it('numbers events with a sequencer that grows', async () => {
    for (const n of [1, 2, 3]) await put(`attachments/Leads/1/same.pdf`, `version ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sequencers = notifications.map((n) => n.event.Records[0]?.s3.object.sequencer ?? '');

    expect(sequencers).toHaveLength(3);
    expect([...sequencers].sort()).toEqual(sequencers);
    expect(new Set(sequencers).size).toBe(3);
  });
});

describe('the local bucket’s tags', () => {
  async function tagsOf(key: string): Promise<Record<string, string>> {
    const { TagSet = [] } = await client.send(new GetObjectTaggingCommand({ Bucket: 'inbox', Key: key }));
    return Object.fromEntries(TagSet.map((tag) => [tag.Key, tag.Value]));
  }

  async function tag(key: string, tags: Record<string, string>): Promise<void> {
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: 'inbox',
        Key: key,
        Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      }),
    );
  }

  it('starts a new write of a key with the tags the write gave, not the old object’s', async () => {
    const key = 'photos/Leads/7.png';
    await put(key, 'first');
    await tag(key, { 'zoho-status': 'done' });
    expect(await tagsOf(key)).toEqual({ 'zoho-status': 'done' });

    await put(key, 'second');
    expect(await tagsOf(key)).toEqual({});

    await client.send(
      new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'third', Tagging: 'team=sales&note=a+b' }),
    );
    expect(await tagsOf(key)).toEqual({ team: 'sales', note: 'a b' });
  });

  it('says how many tags an object has on a HEAD and a GET (x-amz-tagging-count), as S3 does', async () => {
    const key = 'attachments/Leads/7/counted.pdf';
    await put(key);
    expect(
      (await client.send(new HeadObjectCommand({ Bucket: 'inbox', Key: key }))).TagCount,
    ).toBeUndefined();
    await tag(key, { team: 'sales', 'zoho-status': 'done' });
    expect((await client.send(new HeadObjectCommand({ Bucket: 'inbox', Key: key }))).TagCount).toBe(2);
    const got = await client.send(new GetObjectCommand({ Bucket: 'inbox', Key: key }));
    await got.Body?.transformToString();
    expect(got.TagCount).toBe(2);
  });

  it('gives a copy the source’s tags, or the given ones with the REPLACE directive', async () => {
    await put('attachments/Leads/8/source.pdf');
    await tag('attachments/Leads/8/source.pdf', { 'zoho-status': 'done', 'zoho-id': '42' });

    await client.send(
      new CopyObjectCommand({
        Bucket: 'inbox',
        Key: 'attachments/Leads/9/copied tags.pdf',
        CopySource: encodeURI('inbox/attachments/Leads/8/source.pdf'),
      }),
    );
    expect(await tagsOf('attachments/Leads/9/copied tags.pdf')).toEqual({
      'zoho-status': 'done',
      'zoho-id': '42',
    });

    await client.send(
      new CopyObjectCommand({
        Bucket: 'inbox',
        Key: 'attachments/Leads/9/replaced.pdf',
        CopySource: 'inbox/attachments/Leads/8/source.pdf',
        TaggingDirective: 'REPLACE',
        Tagging: 'origin=copy',
      }),
    );
    expect(await tagsOf('attachments/Leads/9/replaced.pdf')).toEqual({ origin: 'copy' });
  });

  it('gives a multipart upload the tags it was created with', async () => {
    const key = 'photos/Leads/10.png';
    await put(key);
    await tag(key, { 'zoho-status': 'failed' });
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: 'inbox', Key: key, Tagging: 'source=multipart' }),
    );
    const part = await client.send(
      new UploadPartCommand({ Bucket: 'inbox', Key: key, UploadId, PartNumber: 1, Body: 'bytes' }),
    );
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'inbox',
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(await tagsOf(key)).toEqual({ source: 'multipart' });
  });
});

describe('a key no notification takes', () => {
  let own: LocalS3;
  let ownClient: S3Client;
  let ownDirectory: string;
  const notices: LocalS3Notice[] = [];

  beforeAll(async () => {
    ownDirectory = await mkdtemp(join(tmpdir(), 'local-s3-notices-'));
    own = await startLocalS3({
      directory: ownDirectory,
      bucket: 'inbox',
      notifications: [
        { id: 'attachments', target: 'attachment', prefix: 'attachments/' },
        { id: 'bulk-zip', target: 'bulk-write', prefix: 'bulk-write/', suffix: '.zip' },
        { id: 'bulk-csv', target: 'bulk-write', prefix: 'bulk-write/', suffix: '.csv' },
      ],
    });
    own.onNotice((notice) => notices.push(notice));
    ownClient = createLocalS3Client(own.endpoint);
  });
  afterAll(async () => {
    ownClient.destroy();
    await own.close();
    await rm(ownDirectory, { recursive: true, force: true });
  });

  it('is told with the real reason: the suffixes its prefix takes, or the prefixes watched', async () => {
    for (const key of ['bulk-write/Leads/insert/LEADS.ZIP', 'attachment/Leads/1/typo.pdf']) {
      await ownClient.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'x' }));
    }
    await vi.waitFor(() => expect(notices).toHaveLength(2));
    expect(notices).toEqual([
      {
        type: 'unrouted',
        key: 'bulk-write/Leads/insert/LEADS.ZIP',
        reason:
          'under bulk-write/, but its notification takes only keys ending ".zip" or ".csv" (S3 matches a suffix case-sensitively)',
      },
      {
        type: 'unrouted',
        key: 'attachment/Leads/1/typo.pdf',
        reason: 'under no watched prefix (attachments/, bulk-write/)',
      },
    ]);
  });
});
