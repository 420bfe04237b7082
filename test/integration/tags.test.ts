import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectTaggingCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Log, silentLog } from '#lib/log.ts';
import { readTags, writeOutcome } from '#lib/s3/tags.ts';

const BUCKET = 'inbox';
let server: S3rver;
let directory: string;
let s3: S3Client;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 's3-to-zoho-tags-'));
  server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET }],
  });
  const { port } = await server.run();
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(async () => {
  s3?.destroy();
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

/** Puts an object with the user's own tags (s3rver ignores PutObject's Tagging, so they are set apart). */
async function put(key: string, userTags: Record<string, string> = {}): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'hello' }));
  const TagSet = Object.entries(userTags).map(([Key, Value]) => ({ Key, Value }));
  if (TagSet.length > 0)
    await s3.send(new PutObjectTaggingCommand({ Bucket: BUCKET, Key: key, Tagging: { TagSet } }));
}

async function storedTags(key: string): Promise<Record<string, string>> {
  const answer = await s3.send(new GetObjectTaggingCommand({ Bucket: BUCKET, Key: key }));
  return Object.fromEntries((answer.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

describe('readTags / writeOutcome against a real S3 server', () => {
  it('reads no tags from an untagged object', async () => {
    await put('attachments/Leads/1/plain.txt');
    expect(await readTags(s3, BUCKET, 'attachments/Leads/1/plain.txt')).toEqual([]);
  });

  it("writes the outcome beside the user's tags", async () => {
    const key = 'attachments/Leads/1/Résumé 東京.pdf';
    await put(key, { project: 'apollo', owner: 'sales' });
    await writeOutcome(
      s3,
      BUCKET,
      key,
      undefined,
      {
        'zoho-status': 'done',
        'zoho-id': '4876876000000624001',
      },
      { log: silentLog },
    );
    expect(await storedTags(key)).toEqual({
      project: 'apollo',
      owner: 'sales',
      'zoho-status': 'done',
      'zoho-id': '4876876000000624001',
    });
  });

  it('replaces our previous outcome and keeps what the user set meanwhile', async () => {
    const key = 'attachments/Leads/2/a+b.txt';
    await put(key, { project: 'apollo' });
    await writeOutcome(
      s3,
      BUCKET,
      key,
      undefined,
      { 'zoho-status': 'pushing', 'zoho-attempt': '2026-11-23T10:00:00.000Z' },
      { log: silentLog },
    );
    const during = await readTags(s3, BUCKET, key);
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: BUCKET,
        Key: key,
        Tagging: { TagSet: [...during, { Key: 'reviewed', Value: 'yes' }] },
      }),
    );
    await writeOutcome(
      s3,
      BUCKET,
      key,
      undefined,
      {
        'zoho-status': 'failed',
        'zoho-error': 'RECORD_LOCKED',
        'zoho-reason': 'The record is locked (approval): unlock it, then drop the file again',
      },
      { log: silentLog },
    );
    const tags = await readTags(s3, BUCKET, key);
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual({
      project: 'apollo',
      reviewed: 'yes',
      'zoho-status': 'failed',
      'zoho-error': 'RECORD_LOCKED',
      'zoho-reason': 'The record is locked approval: unlock it then drop the file again',
    });
  });

  /** Writes a three-tag `done` outcome on `key`; answers what was dropped and the warnings logged. */
  async function writeDone(key: string, id: string) {
    const warnings: Array<{ message: string; fields: Record<string, unknown> | undefined }> = [];
    const log: Log = { ...silentLog, warn: (message, fields) => warnings.push({ message, fields }) };
    const dropped: string[] = [];
    const outcome = { 'zoho-status': 'done', 'zoho-at': '2026-11-23T10:00:00.000Z', 'zoho-id': id };
    await writeOutcome(s3, BUCKET, key, undefined, outcome, {
      log,
      onDropped: (keys) => dropped.push(...keys),
    });
    return { dropped, warnings };
  }

  const userTags = (count: number) =>
    Object.fromEntries(Array.from({ length: count }, (_, i) => [`t${i}`, `v${i}`]));

  it('stays within ten tags, dropping our least important ones and saying which', async () => {
    const key = 'photos/Leads/3.png';
    await put(key, userTags(8));
    const { dropped, warnings } = await writeDone(key, '3');
    const tags = await storedTags(key);
    expect(Object.keys(tags)).toHaveLength(10);
    expect(tags['zoho-status']).toBe('done');
    expect(tags['zoho-id']).toBe('3');
    expect(dropped).toEqual(['zoho-at']);
    expect(warnings[0]?.message).toMatch(
      /No room for 1 of our outcome tags: the object has 8 tags of its own/,
    );
  });

  it("says which of ours it dropped, with the key, when the user's ten tags leave no room", async () => {
    const key = 'attachments/Leads/4/full.txt';
    await put(key, userTags(10));

    const { dropped, warnings } = await writeDone(key, '4');

    expect(await storedTags(key)).toEqual(userTags(10));
    expect(dropped).toEqual(['zoho-status', 'zoho-id', 'zoho-at']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/10 tags of its own.*S3 allows 10/);
    expect(warnings[0]?.fields).toMatchObject({ bucket: BUCKET, key, dropped });
  });
});
