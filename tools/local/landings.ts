/**
 * What `npm start` prints for each object: each outcome as the handler records it on the object
 * (a bulk import's `pushing`, then its `done` from a follow-up invocation), each retry as it is
 * decided (a retry within the run, or a message back to the queue), and, after an invocation, the
 * objects of its batch it recorded nothing on (a repeat, an object gone), told by their tags, what
 * an operator reads in AWS too.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import type { RetryNote } from '#lib/pipeline/deps.ts';
import type { Kind } from '#lib/pipeline/handler.ts';
import type { Outcome } from '#lib/pipeline/outcome.ts';
import { isFinal, readOutcome, type TaggedOutcome } from '#lib/pipeline/outcome-tags.ts';
import { decodeS3EventKey, FOLLOW_UP_KIND } from '#lib/s3/event.ts';
import { readTagMap } from '#lib/s3/tags.ts';
import type { Invocation } from './event-source.ts';
import type { DeadLetter } from './queue.ts';

/** One outcome (or retry) of one object. */
export interface Landing {
  kind: Kind;
  bucket: string;
  key: string;
  /** From the key's default route: the module, and the record id (or the bulk operation). */
  module: string | undefined;
  record: string | undefined;
  /** The object's `zoho-status` (done, failed, skipped, pushing), or `retrying` when this attempt failed. */
  status: string;
  zohoId: string | undefined;
  /** The `zoho-error` code, or why the attempt failed. */
  error: string | undefined;
  /** In full as recorded (the tag holds a short form); the tag's when only the tags tell. */
  reason: string | undefined;
  /** The receive count of the message that carried the object (1 when not known). */
  attempt: number;
  /** Since the object was written. */
  durationMs: number;
  /** For `retrying`: how long until the next try (within the run, or the message's visibility timeout). */
  retryInMs?: number | undefined;
  /** A bulk import's counts and where its results are, from its outcome's tags. */
  bulk?: BulkCounts | undefined;
}

export interface BulkCounts {
  added: number;
  updated: number;
  skipped: number;
  failed: number;
  /** The results CSV's key (`zoho-results`). */
  results: string | undefined;
  /** The failed rows ZIP's key (`zoho-failed-rows`), when rows failed. */
  failedRows: string | undefined;
}

export interface DeadLetterReport {
  kind: Kind;
  keys: string[];
  deadLetter: DeadLetter;
}

/** What the queue does with a failed message: shows it again after `afterMs`, dead-letters it after `maxReceives`. */
export interface Requeue {
  afterMs: number;
  maxReceives: number;
}

export interface LandingReporter {
  /** Notes when an object was written, so its landing says how long it took end to end. */
  written(key: string, eventTime: string | undefined): void;
  /** Notes the messages an invocation is about to handle (their receive counts). */
  received(records: readonly SQSRecord[]): void;
  /** Told by the handler of an outcome it recorded on an object: reported there and then. */
  recorded(kind: Kind, bucket: string, key: string, outcome: Outcome): void;
  /** Told by the handler that it will try an object again within the run: reported there and then. */
  retrying(kind: Kind, bucket: string, key: string, note: RetryNote): void;
  /**
   * After an invocation: each message that failed is `retrying` after the visibility timeout (on
   * its last receive the dead letter is reported instead); each object of the batch nothing was
   * recorded on is told by its tags.
   */
  report(kind: Kind, invocation: Invocation, requeue: Requeue): Promise<void>;
  deadLettered(kind: Kind, deadLetter: DeadLetter): DeadLetterReport;
}

export function createLandingReporter(s3Client: S3Client, emit: (landing: Landing) => void): LandingReporter {
  const writtenAt = new Map<string, number>();
  /** The message now carrying each object (by bucket and key): its receive count, when it was received. */
  const receipts = new Map<string, { attempt: number; at: number }>();
  /** When an outcome was last recorded on each object (by bucket and key). */
  const recordedAt = new Map<string, number>();
  const land = (kind: Kind, object: ObjectRef, facts: LandingFacts) => {
    const receipt = receipts.get(`${object.bucket}/${object.key}`);
    const since = writtenAt.get(object.key) ?? receipt?.at ?? Date.now();
    if (isFinal(facts.status)) writtenAt.delete(object.key);
    emit({
      kind,
      bucket: object.bucket,
      key: object.key,
      ...describeKey(object.key),
      zohoId: undefined,
      error: undefined,
      reason: undefined,
      attempt: receipt?.attempt ?? 1,
      durationMs: Date.now() - since,
      ...facts,
    });
  };
  return {
    written(key, eventTime) {
      writtenAt.set(key, Date.parse(eventTime ?? '') || Date.now());
    },
    received(records) {
      for (const record of records) {
        for (const object of objectsIn(record.body)) {
          const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
          receipts.set(`${object.bucket}/${object.key}`, { attempt, at: Date.now() });
        }
      }
    },
    recorded(kind, bucket, key, outcome) {
      const id = `${bucket}/${key}`;
      // Only an object a message named is looked for after its invocation (a follow-up names none).
      if (receipts.has(id)) recordedAt.set(id, Date.now());
      land(kind, { bucket, key }, { ...told(outcome), bulk: bulkCounts(readOutcome(outcome.tags ?? {})) });
    },
    retrying(kind, bucket, key, note) {
      const retryInMs = Math.max(note.retryAt.getTime() - Date.now(), 0);
      land(kind, { bucket, key }, { status: 'retrying', error: note.code, reason: note.reason, retryInMs });
    },
    async report(kind, invocation, requeue) {
      const failed = new Set(invocation.failedMessageIds);
      const startedAt = Date.now() - invocation.durationMs;
      for (const record of invocation.records) {
        for (const object of objectsIn(record.body)) {
          const id = `${object.bucket}/${object.key}`;
          if (failed.has(record.messageId)) {
            const error = invocation.error?.message ?? 'failed in this batch; see the handler log';
            const last = Number(record.attributes.ApproximateReceiveCount) >= requeue.maxReceives;
            if (!last) land(kind, object, { status: 'retrying', error, retryInMs: requeue.afterMs });
          } else if ((recordedAt.get(id) ?? 0) >= startedAt) {
            recordedAt.delete(id);
          } else {
            const tagged = readOutcome(await readTags(s3Client, object.bucket, object.key));
            land(kind, object, { ...(fromTags(tagged) ?? { status: 'unknown' }), bulk: bulkCounts(tagged) });
          }
          receipts.delete(id);
        }
      }
    },
    deadLettered(kind, deadLetter) {
      const keys = objectsIn(deadLetter.body).map((o) => o.key);
      for (const key of keys) writtenAt.delete(key);
      return { kind, keys, deadLetter };
    },
  };
}

type LandingFacts = Pick<Landing, 'status'> &
  Partial<Pick<Landing, 'zohoId' | 'error' | 'reason' | 'retryInMs' | 'bulk'>>;

interface ObjectRef {
  bucket: string;
  key: string;
}

/** The objects a message is about: the S3 event's records, or a bulk write follow-up's object. */
function objectsIn(body: string): ObjectRef[] {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return [];
  }
  const { Records, kind, payload } = (message ?? {}) as {
    Records?: Array<{ s3?: { bucket?: { name?: string }; object?: { key?: string } } }>;
    kind?: string;
    payload?: Partial<ObjectRef>;
  };
  if (Array.isArray(Records)) {
    return Records.flatMap((record) => {
      const bucket = record.s3?.bucket?.name;
      const key = record.s3?.object?.key;
      if (!bucket || !key) return [];
      try {
        return [{ bucket, key: decodeS3EventKey(key) }];
      } catch {
        return [];
      }
    });
  }
  if (kind === FOLLOW_UP_KIND && payload?.bucket && payload.key) {
    return [{ bucket: payload.bucket, key: payload.key }];
  }
  return [];
}

/** Module and record (or bulk operation) as the default routes place them in a key, for display only. */
function describeKey(key: string): { module: string | undefined; record: string | undefined } {
  const [, module, second, third, fourth] = key.split('/');
  if (second === 'by' && third && fourth) return { module, record: `${third}=${fourth}` };
  return { module, record: second?.replace(/\.[^.]*$/, '') };
}

async function readTags(s3: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  try {
    return await readTagMap(s3, bucket, key);
  } catch {
    return {};
  }
}

/** What an outcome recorded by the handler says. */
function told(outcome: Outcome): LandingFacts {
  return { status: outcome.status, zohoId: outcome.zohoId, error: outcome.code, reason: outcome.reason };
}

/** The outcome our tags tell (status, id, error, the reason's short form), if any. */
function fromTags({ status, zohoId, code, reason }: TaggedOutcome): LandingFacts | undefined {
  if (!status) return undefined;
  return { status, zohoId, error: code, reason };
}

/** A bulk import's counts, from its outcome's tags (machine.ts `finished`), when it has them. */
function bulkCounts(tagged: TaggedOutcome): BulkCounts | undefined {
  if (tagged.added === undefined) return undefined;
  const { added, updated = 0, skipped = 0, failed = 0, results, failedRows } = tagged;
  return { added, updated, skipped, failed, results, failedRows };
}
