/**
 * What `npm start` prints for each object: after each invocation, the outcome of each object of
 * its batch, as the handler recorded it on the object. An object the handler recorded nothing on
 * (a repeat, an object gone) is told by its tags, what an operator reads in AWS too.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { Kind } from '#lib/pipeline/handler.ts';
import type { Outcome } from '#lib/pipeline/outcome.ts';
import { decodeS3EventKey, FOLLOW_UP_KIND } from '#lib/s3/event.ts';
import { readTagMap } from '#lib/s3/tags.ts';
import type { Invocation } from './event-source.ts';
import type { DeadLetter } from './queue.ts';

/** One object through one invocation. */
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
  attempt: number;
  /** Since the object was written. */
  durationMs: number;
}

export interface DeadLetterReport {
  kind: Kind;
  keys: string[];
  deadLetter: DeadLetter;
}

const FINAL_STATUSES = ['done', 'failed', 'skipped'];

export interface LandingReporter {
  /** Notes when an object was written, so its landing says how long it took end to end. */
  written(key: string, eventTime: string | undefined): void;
  /** Told by the handler of an outcome it recorded on an object. */
  recorded(bucket: string, key: string, outcome: Outcome): void;
  /** Reports each object of the invocation's batch: its recorded outcome, or else its tags. */
  report(kind: Kind, invocation: Invocation): Promise<void>;
  deadLettered(kind: Kind, deadLetter: DeadLetter): DeadLetterReport;
}

export function createLandingReporter(s3Client: S3Client, emit: (landing: Landing) => void): LandingReporter {
  const writtenAt = new Map<string, number>();
  /** Outcomes recorded and not reported yet, by bucket and key. */
  const outcomes = new Map<string, Outcome>();
  const recordedOutcome = async ({ bucket, key }: ObjectRef): Promise<Told | undefined> => {
    const id = `${bucket}/${key}`;
    const outcome = outcomes.get(id);
    outcomes.delete(id);
    return outcome ?? fromTags(await readTags(s3Client, bucket, key));
  };
  return {
    written(key, eventTime) {
      writtenAt.set(key, Date.parse(eventTime ?? '') || Date.now());
    },
    recorded(bucket, key, outcome) {
      outcomes.set(`${bucket}/${key}`, outcome);
    },
    async report(kind, invocation) {
      const failed = new Set(invocation.failedMessageIds);
      for (const record of invocation.records) {
        for (const object of objectsIn(record.body)) {
          const outcome = await recordedOutcome(object);
          const retrying = failed.has(record.messageId);
          const status = retrying ? 'retrying' : (outcome?.status ?? 'unknown');
          const since = writtenAt.get(object.key);
          if (FINAL_STATUSES.includes(status)) writtenAt.delete(object.key);
          emit({
            kind,
            bucket: object.bucket,
            key: object.key,
            ...describeKey(object.key),
            status,
            zohoId: outcome?.zohoId,
            error: retrying
              ? (invocation.error?.message ?? 'failed in this batch; see the handler log')
              : outcome?.code,
            reason: outcome?.reason,
            attempt: Number(record.attributes.ApproximateReceiveCount),
            durationMs: since === undefined ? invocation.durationMs : Date.now() - since,
          });
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

/** An outcome as told: recorded by the handler, or read from the object's tags. */
interface Told {
  status: string;
  zohoId?: string | undefined;
  code?: string | undefined;
  reason?: string | undefined;
}

/** The outcome our tags tell (`zoho-status`, id, error, the reason's short form), if any. */
function fromTags(tags: Record<string, string>): Told | undefined {
  const status = tags['zoho-status'];
  if (!status) return undefined;
  return {
    status,
    zohoId: tags['zoho-id'],
    code: tags['zoho-error'],
    reason: tags['zoho-reason'],
  };
}
