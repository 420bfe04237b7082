/**
 * The edge of every handler: what S3 (directly, or through SQS) delivers, turned into the objects
 * to push. Keys are decoded here, once; folder markers, test events and events other than
 * `ObjectCreated:*` are dropped here, so the core only ever sees real new objects.
 */
import type { S3Event, S3EventRecord, SQSRecord } from 'aws-lambda';
import { isObject } from '#lib/json.ts';

/** One new object, its key decoded. */
export interface ObjectEvent {
  bucket: string;
  /** The object's real key (decoded). */
  key: string;
  /**
   * EventBridge only: the key as carried, looked up when `key` is not found (AWS's docs do not
   * say whether EventBridge URL-encodes keys; see fromEventBridge).
   */
  otherKey?: string;
  size: number | undefined;
  eTag: string | undefined;
  versionId: string | undefined;
  sequencer: string | undefined;
  /** e.g. `ObjectCreated:Put`. */
  eventName: string;
  eventTime: string;
  /** The SQS message it came in, when it came through SQS. */
  messageId?: string;
  /** Sent by `npm run replay` (configuration id REPLAY_CONFIGURATION_ID): a failed import may start again. */
  replay?: true;
  /** Sent by `replay --force`: push again even what was pushed. */
  forced?: boolean;
}

/** Carried as the event's configuration id, so a replayed event can be told from S3's own. */
export const REPLAY_CONFIGURATION_ID = 's3-to-zoho-replay';
/** The configuration id `replay --force` gives its events: a person asked for another push. */
export const FORCED_REPLAY_ID = 's3-to-zoho-replay-force';

export const FOLLOW_UP_KIND = 's3-to-zoho/follow-up';

/** A message the pipeline sent to its own queue (bulk write jobs are followed this way). */
export interface FollowUp {
  kind: typeof FOLLOW_UP_KIND;
  payload: unknown;
}

export type ParsedSqsRecord = { objects: ObjectEvent[] } | { followUp: FollowUp } | { skip: string };

/**
 * An event that cannot be read: a body that is not JSON, a record without a bucket or key, a key
 * whose percent-encoding is broken. Reading it again cannot help.
 */
export class S3EventError extends Error {
  readonly code: 'INVALID_EVENT' | 'INVALID_KEY_ENCODING';
  readonly retryable = false;

  constructor(code: S3EventError['code'], message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'S3EventError';
    this.code = code;
  }
}

/** The new objects of an S3 event delivered to Lambda directly; a record that cannot be read throws. */
export function parseS3Event(event: S3Event): ObjectEvent[] {
  return readRecords(event.Records).objects;
}

/**
 * One SQS message: an S3 event (one object, as S3 sends them), our own follow-up message, or
 * something to drop quietly (S3's `s3:TestEvent`, a folder marker, a deletion). A message that
 * cannot be read throws an S3EventError: that record alone fails, and in the end the DLQ keeps it.
 */
export function parseSqsRecord(record: SQSRecord): ParsedSqsRecord {
  const body = parseJson(record.body, `SQS message ${record.messageId}`);
  const message = unwrapSns(body, record.messageId);

  if (isObject(message) && message.kind === FOLLOW_UP_KIND) {
    return { followUp: { kind: FOLLOW_UP_KIND, payload: message.payload } };
  }
  if (isObject(message) && message.Event === 's3:TestEvent') {
    return { skip: `S3 test event for bucket ${String(message.Bucket)}` };
  }
  const records = isObject(message) && message.source === 'aws.s3' ? [fromEventBridge(message)] : undefined;
  if (!records && (!isObject(message) || !Array.isArray(message.Records))) {
    throw new S3EventError(
      'INVALID_EVENT',
      `SQS message ${record.messageId} is neither an S3 event (no Records) nor a follow-up message.`,
    );
  }

  const { objects, skipped } = readRecords(records ?? (message as { Records: unknown[] }).Records);
  if (objects.length === 0) return { skip: skipped.join('; ') || 'an S3 event without records' };
  return { objects: objects.map((object) => ({ ...object, messageId: record.messageId })) };
}

/**
 * The key as S3 writes it in an event: `+` is a space, then percent-decoding (UTF-8). A literal
 * `+` arrives as `%2B`.
 */
export function decodeS3EventKey(rawKey: string): string {
  try {
    return decodeURIComponent(rawKey.replace(/\+/g, ' '));
  } catch (error) {
    throw new S3EventError(
      'INVALID_KEY_ENCODING',
      `The event's object key "${rawKey}" is not valid URL encoding (a % not followed by two hex digits of UTF-8).`,
      { cause: error },
    );
  }
}

/** An EventBridge key: decoded when it decodes, as it is otherwise (see fromEventBridge). */
function decodedOrAsIs(rawKey: string): string {
  try {
    return decodeS3EventKey(rawKey);
  } catch {
    return rawKey;
  }
}

/*
 * S3 writes keys in events as `application/x-www-form-urlencoded` ("red flower.jpg" becomes
 * "red+flower.jpg", "a@b" becomes "a%40b", per the S3 notification docs and LocalStack's
 * AWS-validated test) but leaves `/` as it is (`dir1/testfile.txt`). The characters kept are those
 * of Java's URLEncoder, which the service's encoding matches: letters, digits, `.-*_`, plus `/`.
 * Everything else is UTF-8 bytes as `%XX` in upper case; `~` becomes `%7E`.
 */
const KEPT_IN_EVENT_KEYS = /^[A-Za-z0-9.\-*_/]$/;

/** The inverse of decodeS3EventKey, exactly as AWS encodes keys in event notifications. */
export function encodeS3EventKey(key: string): string {
  let encoded = '';
  for (const char of key) {
    if (char === ' ') encoded += '+';
    else if (KEPT_IN_EVENT_KEYS.test(char)) encoded += char;
    else
      for (const byte of Buffer.from(char, 'utf8'))
        encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function readRecords(records: unknown[]): { objects: ObjectEvent[]; skipped: string[] } {
  const objects: ObjectEvent[] = [];
  const skipped: string[] = [];
  for (const [index, record] of records.entries()) {
    const read = readRecord(record, index);
    if (typeof read === 'string') skipped.push(read);
    else objects.push(read);
  }
  return { objects, skipped };
}

/** The object of one S3 event record, or why it is skipped. */
function readRecord(record: unknown, index: number): ObjectEvent | string {
  if (!isObject(record))
    throw new S3EventError('INVALID_EVENT', `S3 event record #${index} is not an object.`);
  const { eventSource, eventName, eventTime, s3 } = record as Partial<S3EventRecord> &
    Record<string, unknown>;
  if (eventSource !== undefined && eventSource !== 'aws:s3')
    return `record #${index} comes from ${eventSource}`;
  if (typeof eventName !== 'string' || !/^(s3:)?ObjectCreated:/.test(eventName)) {
    return `${String(eventName)} is not an ObjectCreated event`;
  }

  const bucket = s3?.bucket?.name;
  const rawKey = s3?.object?.key;
  if (typeof bucket !== 'string' || bucket === '' || typeof rawKey !== 'string' || rawKey === '') {
    throw new S3EventError(
      'INVALID_EVENT',
      `S3 event record #${index} has no s3.bucket.name or s3.object.key.`,
    );
  }
  const object = s3?.object as Partial<S3EventRecord['s3']['object']>;
  const size = typeof object.size === 'number' ? object.size : undefined;
  const eitherWay = record.keyEncoding === 'unknown';
  const key = eitherWay ? decodedOrAsIs(rawKey) : decodeS3EventKey(rawKey);
  if (key.endsWith('/') && (size === 0 || size === undefined)) return `${key} is a folder marker`;

  return {
    bucket,
    key,
    ...(eitherWay && key !== rawKey ? { otherKey: rawKey } : {}),
    size,
    eTag: optionalString(object.eTag),
    versionId: optionalString(object.versionId),
    sequencer: optionalString(object.sequencer),
    eventName: eventName.replace(/^s3:/, ''),
    eventTime: typeof eventTime === 'string' ? eventTime : '',
    ...(s3?.configurationId === REPLAY_CONFIGURATION_ID ? { replay: true as const } : {}),
    ...(s3?.configurationId === FORCED_REPLAY_ID ? { forced: true } : {}),
  };
}

/**
 * An S3 event delivered by EventBridge (a rule feeding the queue, for buckets whose notifications
 * another consumer already uses) as the record S3 would send: the same fields under other names.
 * Whether its key is URL-encoded as in S3's notifications is not written down: AWS's Powertools
 * for Python decodes `detail.object.key` (unquote_plus), while an event published from a real
 * bucket shows `:` as it is, which the notifications' encoding never leaves. So the key is read
 * decoded when it decodes, and the key as carried is looked up should the decoded one not exist
 * (`otherKey`): a `+` or `%` in a name finds its object either way. `detail.reason` (PutObject,
 * CopyObject, CompleteMultipartUpload) names the event as `ObjectCreated:Put`, `:Copy`, ….
 */
function fromEventBridge(message: Record<string, unknown>): Record<string, unknown> {
  const detail = isObject(message.detail) ? message.detail : {};
  const bucket = isObject(detail.bucket) ? detail.bucket : {};
  const object = isObject(detail.object) ? detail.object : {};
  const created = message['detail-type'] === 'Object Created';
  const reason = typeof detail.reason === 'string' ? detail.reason.replace(/Object$/, '') : 'Put';
  return {
    eventSource: 'aws:s3',
    keyEncoding: 'unknown',
    eventName: created ? `ObjectCreated:${reason}` : String(message['detail-type']),
    eventTime: message.time,
    s3: {
      bucket: { name: bucket.name },
      object: {
        key: object.key,
        size: object.size,
        eTag: object.etag,
        versionId: object['version-id'],
        sequencer: object.sequencer,
      },
    },
  };
}

/** S3 → SNS → SQS without raw delivery wraps the S3 event in an SNS notification. */
function unwrapSns(body: unknown, messageId: string): unknown {
  if (isObject(body) && body.Type === 'Notification' && typeof body.Message === 'string') {
    return parseJson(body.Message, `the SNS notification in SQS message ${messageId}`);
  }
  return body;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new S3EventError('INVALID_EVENT', `${what} is not JSON: ${text.slice(0, 80)}`, { cause: error });
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
