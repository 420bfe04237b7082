/**
 * The bucket, on this machine: s3rver keeps the objects on disk, and each object-created event
 * is rewritten into exactly what S3 puts on an SQS queue (event version 2.1, the key
 * URL-encoded) and routed by the same prefix/suffix filters as the bucket's notifications in AWS.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import S3rver, { type S3rverEvent, type S3rverRequest, type S3rverStore } from 's3rver';
import { type Log, silentLog } from '#lib/log.ts';
import { DEFAULT_PREFIXES, EXTRA_PREFIXES } from '#lib/routing/route.ts';
import { encodeS3EventKey } from '#lib/s3/event.ts';
import { patchListObjectsV2 } from './s3rver-listing.ts';
import { applyWriteTags, escapeXml, tagCount, writeSubresourcesWhole } from './s3rver-tags.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
/** s3rver accepts only its own dummy key pair; any S3 client with path-style addressing works with it. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** One notification configuration of the bucket: object-created events whose key matches go to `target`. */
export interface NotificationRule {
  /** The configuration id, carried in each event as `s3.configurationId`. */
  id: string;
  target: string;
  prefix?: string;
  suffix?: string;
}

/**
 * The bucket's notifications, as the CDK stack sets them: one queue per kind, every object under
 * its prefixes (the bulk function takes .zip and .csv in any case and refuses anything else with
 * a reason). Keys under no prefix, and the bulk results written under `bulk-write-results/`,
 * reach no queue.
 */
export const PIPELINE_NOTIFICATIONS: readonly NotificationRule[] = [
  { id: 'attachments', target: 'attachment', prefix: DEFAULT_PREFIXES.attachment },
  ...EXTRA_PREFIXES.attachment.map((prefix) => ({
    id: `attachment-${prefix}`,
    target: 'attachment',
    prefix,
  })),
  { id: 'photos', target: 'photo', prefix: DEFAULT_PREFIXES.photo },
  { id: 'bulk-write', target: 'bulk-write', prefix: DEFAULT_PREFIXES['bulk-write'] },
];

/** The rule an object-created event for `key` goes to, if any (S3 matches the raw key, case-sensitively). */
function matchNotification(key: string, rules: readonly NotificationRule[]): NotificationRule | undefined {
  return rules.find((rule) => key.startsWith(rule.prefix ?? '') && key.endsWith(rule.suffix ?? ''));
}

/** Why no notification takes `key`: a rule's prefix fits but not its suffix, or no prefix does. */
function whyNoNotification(key: string, rules: readonly NotificationRule[]): string {
  const byPrefix = rules.filter((rule) => key.startsWith(rule.prefix ?? ''));
  if (byPrefix.length > 0) {
    const suffixes = [...new Set(byPrefix.map((rule) => `"${rule.suffix}"`))].join(' or ');
    return `under ${byPrefix[0]?.prefix ?? 'the bucket'}, but its notification takes only keys ending ${suffixes} (S3 matches a suffix case-sensitively)`;
  }
  const prefixes = [...new Set(rules.map((rule) => rule.prefix ?? ''))].join(', ');
  return `under no watched prefix (${prefixes})`;
}

/**
 * What the local bucket tells that AWS would not: a key refused because s3rver cannot store it
 * (S3 itself would), and an object no notification takes (in AWS, no event at all), with why.
 */
export type LocalS3Notice =
  | { type: 'refused'; key: string; reason: string }
  | { type: 'unrouted'; key: string; reason: string };

/** s3rver keeps an object as files named after the key's last segment plus up to this suffix. */
const LONGEST_S3RVER_SUFFIX = '._S3rver_metadata.json';
/** Most file systems: a file or directory name has at most 255 bytes. */
const MAX_FILE_NAME_BYTES = 255;

/** Why s3rver could not store `key` on disk, or undefined when it can. */
function keyRefusedOnDisk(key: string): string | undefined {
  const segments = key.split('/');
  const last = segments.length - 1;
  for (const [index, segment] of segments.entries()) {
    const room = MAX_FILE_NAME_BYTES - (index === last ? LONGEST_S3RVER_SUFFIX.length : 0);
    const bytes = Buffer.byteLength(segment, 'utf8');
    if (bytes > room) {
      return (
        `The local S3 keeps each object as files on disk: the ${index === last ? 'file name' : 'folder name'} ` +
        `"${segment.slice(0, 40)}…" is ${bytes} bytes, over the ${room} it can store (S3 itself allows keys ` +
        'of up to 1024 bytes). Shorten the name to try it locally.'
      );
    }
  }
  return undefined;
}

export interface S3Notification {
  rule: NotificationRule;
  /** What S3 sends to the queue: one record per message. */
  event: S3Event;
  /** The object key as stored (not encoded). */
  key: string;
}

export interface LocalS3Options {
  /** Default 0: any free port. */
  port?: number;
  address?: string;
  /** Where the objects are kept on disk. */
  directory: string;
  bucket: string;
  notifications?: readonly NotificationRule[];
  log?: Log;
}

export type NotificationListener = (notification: S3Notification) => void | Promise<void>;

export interface LocalS3 {
  endpoint: string;
  port: number;
  bucket: string;
  /**
   * Calls `listener` for each object-created event that matches a rule; returns an unsubscribe.
   * The write is answered once the listeners' promises settle: the event is queued by then, as S3's.
   */
  onNotification(listener: NotificationListener): () => void;
  /** Calls `listener` for each key refused or written under no rule; returns an unsubscribe. */
  onNotice(listener: (notice: LocalS3Notice) => void): () => void;
  close(): Promise<void>;
}

interface RequestFacts {
  method: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  /** What the response waits for: the new object's tags, its notification. */
  pending: Array<Promise<void>>;
}

/** What the local bucket keeps across requests: who listens, and the tags of multipart uploads under way. */
interface LocalBucket {
  bucket: string;
  store: S3rverStore;
  rules: readonly NotificationRule[];
  listeners: Set<NotificationListener>;
  notices: Set<(notice: LocalS3Notice) => void>;
  multipartTagging: Map<string, string>;
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const { bucket, log = silentLog } = options;
  await mkdir(options.directory, { recursive: true });
  patchListObjectsV2();
  const server = new S3rver({
    port: options.port ?? 0,
    address: options.address ?? '127.0.0.1',
    silent: true,
    directory: options.directory,
    configureBuckets: [{ name: bucket }],
  });
  writeSubresourcesWhole(server.store);
  const local: LocalBucket = {
    bucket,
    store: server.store,
    rules: options.notifications ?? PIPELINE_NOTIFICATIONS,
    listeners: new Set(),
    notices: new Set(),
    multipartTagging: new Map(),
  };
  const request = new AsyncLocalStorage<RequestFacts>();
  // First of all middleware: the event handler below learns what the request was, and the
  // response goes out only once the object's tags are right and its notification is queued.
  server.middleware.unshift(requestGate(local, request));
  const nextSequencer = createSequencer();
  server.on('event', (raw) => {
    const facts = request.getStore();
    const sequencer = nextSequencer();
    const work = onObjectEvent(local, raw, facts, sequencer).catch((error: unknown) =>
      log.error('Local S3 event not handled', { error }),
    );
    facts?.pending.push(work);
  });

  const address = await server.run();
  return {
    endpoint: `http://${address.address}:${address.port}`,
    port: address.port,
    bucket,
    onNotification(listener) {
      local.listeners.add(listener);
      return () => local.listeners.delete(listener);
    },
    onNotice(listener) {
      local.notices.add(listener);
      return () => local.notices.delete(listener);
    },
    async close() {
      local.listeners.clear();
      local.notices.clear();
      const closed = server.close();
      server.httpServer?.closeAllConnections();
      await closed;
    },
  };
}

/**
 * The middleware placed first: refuses a write s3rver could not store, runs the request with its
 * facts at hand for the event handler, then waits for the object's tags and notification.
 */
function requestGate(local: LocalBucket, request: AsyncLocalStorage<RequestFacts>) {
  return async (ctx: S3rverRequest, next: () => Promise<void>): Promise<void> => {
    const refused =
      ctx.method === 'PUT' || ctx.method === 'POST' ? refusedWrite(local.bucket, ctx.path) : undefined;
    if (refused) {
      for (const listener of local.notices) listener(refused);
      ctx.status = 400;
      ctx.type = 'application/xml';
      ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>KeyTooLongError</Code><Message>${escapeXml(refused.reason)}</Message></Error>`;
      return;
    }
    const facts: RequestFacts = { method: ctx.method, query: ctx.query, headers: ctx.headers, pending: [] };
    await request.run(facts, next);
    await Promise.all(facts.pending);
    rememberMultipartTagging(local, facts, ctx.body);
    await tellTagCount(local, ctx);
  };
}

/** S3 says on a HEAD or GET of an object how many tags it has (`x-amz-tagging-count`); s3rver does not. */
async function tellTagCount(local: LocalBucket, ctx: S3rverRequest): Promise<void> {
  const key = objectKeyOf(local.bucket, ctx.path);
  const read = ctx.method === 'HEAD' || ctx.method === 'GET';
  const subresource = ['tagging', 'acl', 'uploadId', 'attributes'].some((name) => name in ctx.query);
  if (!read || key === undefined || subresource || ctx.status >= 300) return;
  const count = await tagCount(local.store, local.bucket, key);
  if (count > 0) ctx.set('x-amz-tagging-count', String(count));
}

/** s3rver forgets the tags a multipart upload was created with; S3 gives them to the object. */
function rememberMultipartTagging(local: LocalBucket, facts: RequestFacts, body: unknown): void {
  const tagging = facts.headers['x-amz-tagging'];
  if (facts.method !== 'POST' || facts.query.uploads === undefined || typeof tagging !== 'string') return;
  const uploadId = typeof body === 'string' ? /<UploadId>([^<]+)<\/UploadId>/.exec(body)?.[1] : undefined;
  if (uploadId) local.multipartTagging.set(uploadId, tagging);
}

/** A new object: its tags as S3 writes them, then its notification to the listeners (or a notice). */
async function onObjectEvent(
  local: LocalBucket,
  raw: S3rverEvent,
  facts: RequestFacts | undefined,
  sequencer: string,
): Promise<void> {
  const { bucket, store, rules, multipartTagging } = local;
  const source = raw.Records[0];
  if (!source?.eventName.startsWith('ObjectCreated:') || source.s3.bucket.name !== bucket) return;
  const key = source.s3.object.key;
  const uploadId = facts?.method === 'POST' ? facts.query.uploadId : undefined;
  // s3rver names a completed multipart upload `ObjectCreated:Post`, as it does a form upload.
  const eventName = typeof uploadId === 'string' ? 'ObjectCreated:CompleteMultipartUpload' : source.eventName;

  await applyWriteTags(store, {
    bucket,
    key,
    eventName,
    headers: facts?.headers ?? {},
    multipartTagging: typeof uploadId === 'string' ? multipartTagging.get(uploadId) : undefined,
  });
  if (typeof uploadId === 'string') multipartTagging.delete(uploadId);

  const rule = matchNotification(key, rules);
  if (!rule) {
    const notice = { type: 'unrouted' as const, key, reason: whyNoNotification(key, rules) };
    for (const listener of local.notices) listener(notice);
    return;
  }
  let { size, eTag } = source.s3.object;
  if (size === undefined || eTag === undefined) {
    const metadata = await store.getMetadata(bucket, key);
    size ??= Number(metadata['content-length']);
    eTag ??= String(metadata.etag ?? '').replaceAll('"', '');
  }

  const record = eventRecord({ bucket, source, eventName, rule, size, eTag, sequencer });
  const notification: S3Notification = { rule, key, event: { Records: [record] } };
  await Promise.all([...local.listeners].map(async (listener) => listener(notification)));
}

/** The record S3 puts on a queue for a new object (event version 2.1, the key URL-encoded). */
function eventRecord(facts: {
  bucket: string;
  source: S3rverEvent['Records'][number];
  eventName: string;
  rule: NotificationRule;
  size: number;
  eTag: string;
  sequencer: string;
}): S3EventRecord {
  const { bucket, source, eventName, rule, size, eTag, sequencer } = facts;
  const key = source.s3.object.key;
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: LOCAL_REGION,
    eventTime: source.eventTime,
    eventName,
    userIdentity: { principalId: 'AWS:AIDALOCALS3RVERUSER' },
    requestParameters: {
      sourceIPAddress: source.requestParameters.sourceIPAddress.replace(/^::ffff:/, ''),
    },
    responseElements: {
      'x-amz-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-amz-id-2': randomBytes(48).toString('base64'),
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: rule.id,
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: 'A3LOCALS3RVEROWNER' },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object: { key: encodeS3EventKey(key), size, eTag, sequencer },
    },
  };
}

/** A write to a key of `bucket` that s3rver could not store (it would throw and lose the request). */
function refusedWrite(bucket: string, path: string): Extract<LocalS3Notice, { type: 'refused' }> | undefined {
  const key = objectKeyOf(bucket, path);
  const reason = key === undefined ? undefined : keyRefusedOnDisk(key);
  return key !== undefined && reason ? { type: 'refused', key, reason } : undefined;
}

/** The key a path-style request names in the bucket, if it names one. */
function objectKeyOf(bucket: string, path: string): string | undefined {
  const [, name, ...rest] = path.split('/');
  if (name !== bucket || rest.length === 0) return undefined;
  try {
    return rest.map(decodeURIComponent).join('/');
  } catch {
    return undefined;
  }
}

/** An S3 client for the local bucket: path-style, s3rver's dummy keys. */
export function createLocalS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: S3RVER_CREDENTIALS,
  });
}

/** S3's sequencer: a hex string that grows with each event, to order events on one key. */
function createSequencer(): () => string {
  let last = BigInt(Date.now()) << 16n;
  return () => {
    const fromClock = BigInt(Date.now()) << 16n;
    last = fromClock > last ? fromClock : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, '0');
  };
}
