/**
 * Pushing objects again (`npm run replay`): those whose push failed, those stuck in `pushing`,
 * and those that were in the bucket before the stack (no `zoho-status` at all). Each goes back on
 * its kind's queue as the very event S3 would have sent, so the pipeline treats it like any other.
 * The dead-letter queue's redrive is dlq-redrive.ts.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { S3Event, S3EventRecord } from 'aws-lambda';
import { KINDS, kindRecord } from '#lib/kinds.ts';
import { readOutcome, type TaggedOutcome } from '#lib/pipeline/outcome-tags.ts';
import { encodeS3EventKey, FORCED_REPLAY_ID, REPLAY_CONFIGURATION_ID } from '#lib/s3/event.ts';
import { type ScannedObject, scanObjects, sendOptions } from './scan.ts';

/** SQS: at most 10 entries per SendMessageBatch. */
const SQS_BATCH_ENTRIES = 10;

export type ReplaySelection = 'failed' | 'unprocessed' | 'stuck' | 'all';

/** A `pushing` object whose attempt is older than this is stuck: the longest default function timeout. */
export const DEFAULT_STUCK_AFTER_MS =
  Math.max(...KINDS.map((kind) => kindRecord(kind).timeoutSeconds)) * 1000;

export interface ReplayTarget {
  key: string;
  size: number;
  eTag: string;
  versionId: string | undefined;
  /** Why it was selected: failed (or retrying), never processed, or stuck in `pushing`. */
  reason: Exclude<ReplaySelection, 'all'> | 'forced';
  /** The failure's code (`zoho-error`), for failed objects. */
  error: string | undefined;
}

export interface ReplayFailure {
  key: string;
  code: string;
  message: string;
}

export interface ReplayResult {
  /** Objects looked at under the prefix. */
  scanned: number;
  selected: ReplayTarget[];
  /** Keys put back on the queue (none in a dry run). */
  sent: string[];
  /** Keys SQS refused, with its reason. */
  failed: ReplayFailure[];
  /** The last key looked at: `--start-after` it resumes from there. */
  lastKey: string | undefined;
}

export interface ReplayOptions {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  prefix: string;
  /** The queue of the prefix's kind. */
  queueUrl: string;
  /** Default `failed`. */
  select?: ReplaySelection | undefined;
  /** Select and report, send nothing. */
  dryRun?: boolean | undefined;
  /**
   * Push every object under the prefix again, `done` ones included (a second copy on purpose): a
   * bulk import is sent again whole. Without it a failed or expired bulk import resumes (bulk/machine.ts).
   */
  force?: boolean | undefined;
  /** The bucket's region, carried in the event (`awsRegion`); default the S3 client's. */
  region?: string | undefined;
  resultsPrefix?: string | undefined;
  concurrency?: number | undefined;
  /** Told of each object as it is selected (progress for a person watching). */
  onSelected?: ((target: ReplayTarget) => void) | undefined;
  /** `pushing` for longer than this counts as stuck; default 5 minutes. */
  stuckAfterMs?: number | undefined;
  startAfter?: string | undefined;
  now?: (() => Date) | undefined;
  signal?: AbortSignal | undefined;
}

export async function replayObjects(options: ReplayOptions): Promise<ReplayResult> {
  const { sqs, bucket, queueUrl, signal } = options;
  const select = options.select ?? 'failed';
  const now = options.now ?? (() => new Date());
  const region = options.region ?? (await options.s3.config.region());
  const nextSequencer = createSequencer(now);
  const result: ReplayResult = { scanned: 0, selected: [], sent: [], failed: [], lastKey: undefined };
  const stuckBefore = () => now().getTime() - (options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS);
  let batch: ReplayTarget[] = [];

  const flush = async () => {
    const entries = batch;
    batch = [];
    if (entries.length === 0) return;
    const answer = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: entries.map((target, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(
            s3EventFor(bucket, target, {
              region,
              eventTime: now(),
              sequencer: nextSequencer(),
              ...(options.force ? { configurationId: FORCED_REPLAY_ID } : {}),
            }),
          ),
        })),
      }),
      sendOptions(signal),
    );
    for (const success of answer.Successful ?? []) {
      const target = entries[Number(success.Id)];
      if (target) result.sent.push(target.key);
    }
    for (const failure of answer.Failed ?? []) {
      const target = entries[Number(failure.Id)];
      if (target)
        result.failed.push({
          key: target.key,
          code: failure.Code ?? 'Unknown',
          message: failure.Message ?? '',
        });
    }
  };

  for await (const object of scanObjects(options)) {
    result.scanned++;
    result.lastKey = object.key;
    const target = replayTarget(object, select, stuckBefore(), options.force);
    if (!target) continue;
    result.selected.push(target);
    options.onSelected?.(target);
    if (options.dryRun) continue;
    batch.push(target);
    if (batch.length === SQS_BATCH_ENTRIES) await flush();
  }
  await flush();
  return result;
}

/**
 * The object, if the selection takes it: failed or retrying, never processed (no `zoho-status`),
 * or stuck: `pushing` with an attempt (`zoho-attempt`, else `zoho-at`) before `stuckBefore` (ms),
 * an invocation that ended without an outcome. Pushing it again is safe: the push first looks for
 * what that attempt may have sent (README, exactly once). With `force` (`--force`), every object,
 * whatever its status.
 */
export function replayTarget(
  object: ScannedObject,
  select: ReplaySelection,
  stuckBefore = Number.NEGATIVE_INFINITY,
  force = false,
): ReplayTarget | undefined {
  const outcome = readOutcome(object.tags);
  const reason = force ? 'forced' : reasonOf(outcome, stuckBefore);
  if (!reason || (reason !== 'forced' && select !== 'all' && select !== reason)) return undefined;
  return {
    key: object.key,
    size: object.size,
    eTag: object.eTag,
    versionId: object.versionId,
    reason,
    error: outcome.code,
  };
}

/** The event S3 sends a queue when an object is created: version 2.1, one record, the key URL-encoded. */
export function s3EventFor(
  bucket: string,
  object: Pick<ReplayTarget, 'key' | 'size' | 'eTag' | 'versionId'>,
  at: { region: string; eventTime: Date; sequencer: string; configurationId?: string },
): S3Event {
  const configurationId = at.configurationId ?? REPLAY_CONFIGURATION_ID;
  const record: S3EventRecord = {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: at.region,
    eventTime: at.eventTime.toISOString(),
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: REPLAY_CONFIGURATION_ID },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': REPLAY_CONFIGURATION_ID, 'x-amz-id-2': REPLAY_CONFIGURATION_ID },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId,
      bucket: {
        name: bucket,
        ownerIdentity: { principalId: REPLAY_CONFIGURATION_ID },
        arn: `arn:aws:s3:::${bucket}`,
      },
      object: {
        key: encodeS3EventKey(object.key),
        size: object.size,
        eTag: object.eTag,
        ...(object.versionId ? { versionId: object.versionId } : {}),
        sequencer: at.sequencer,
      },
    },
  };
  return { Records: [record] };
}

/** S3's sequencer: a hex string that grows with each event, to order events on one key. */
function createSequencer(now: () => Date): () => string {
  let last = 0n;
  return () => {
    const fromClock = BigInt(now().getTime()) << 16n;
    last = fromClock > last ? fromClock : last + 1n;
    return last.toString(16).toUpperCase().padStart(18, '0');
  };
}

function reasonOf(outcome: TaggedOutcome, stuckBefore: number): ReplayTarget['reason'] | undefined {
  const { status } = outcome;
  if (!status) return 'unprocessed';
  // `retrying` is a failure too once its message is dead-lettered (or past the DLQ's 14 days).
  if (status === 'failed' || status === 'retrying') return 'failed';
  if (status === 'pushing' && stuckSince(outcome) < stuckBefore) return 'stuck';
  return undefined;
}

/** When the attempt under way started; an attempt without a time counts as now (never stuck). */
function stuckSince(outcome: TaggedOutcome): number {
  const at = Date.parse(outcome.attempt ?? outcome.at ?? '');
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at;
}
