/**
 * The follow-up message: the one message the bulk-write function sends to its own queue, so that
 * a look at an import's jobs comes again later. What it holds, how it is sent and how it is read
 * back all live here.
 *
 * Body: `{"kind":"s3-to-zoho/follow-up","payload":{"write","attempt","version"}}`, sent with SQS
 * SendMessage and DelaySeconds (BULK_POLL_SECONDS, at most 900). The kind is how the queue's
 * reader tells it from S3's events (`FOLLOW_UP_KIND`, s3/event.ts). A payload whose attempt or
 * version is no longer the import record's is stale, and dropped (follow.ts).
 */
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isObject } from '#lib/json.ts';
import { FOLLOW_UP_KIND } from '#lib/s3/event.ts';
import type { ImportState } from './machine.ts';

export interface FollowUpPayload {
  write: string;
  attempt: number;
  /** The version of the import record this look is for: an older one is a duplicate, dropped. */
  version: number;
}

/** Sends a follow-up back onto the function's own queue, delayed. */
export type SendFollowUp = (payload: FollowUpPayload) => Promise<void>;

/** The look that follows `state`: for the version its save is about to make. */
export function followUpOf(state: Pick<ImportState, 'write' | 'attempt' | 'version'>): FollowUpPayload {
  return { write: state.write, attempt: state.attempt, version: state.version + 1 };
}

/** The message as it goes onto the queue (before JSON). */
export function followUpMessage(payload: FollowUpPayload): {
  kind: typeof FOLLOW_UP_KIND;
  payload: FollowUpPayload;
} {
  return { kind: FOLLOW_UP_KIND, payload };
}

/** Sends follow-ups with SQS to FOLLOW_UP_QUEUE_URL, each delayed by BULK_POLL_SECONDS. */
export function sqsFollowUps(
  sqs: SQSClient,
  queueUrl: string | undefined,
  delaySeconds: number,
): SendFollowUp {
  return async (payload) => {
    if (!queueUrl) throw new Error('FOLLOW_UP_QUEUE_URL is not set: bulk write jobs cannot be followed');
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(followUpMessage(payload)),
        DelaySeconds: delaySeconds,
      }),
    );
  };
}

/** A received follow-up's payload, or why it is not one of ours. */
export function parseFollowUp(payload: unknown): FollowUpPayload | string {
  if (!isObject(payload)) return 'the payload is not an object';
  const { write, attempt, version } = payload;
  if (typeof write !== 'string' || write === '' || write.length > 2048) return 'no write id';
  if (!Number.isSafeInteger(attempt) || (attempt as number) < 1) return 'no attempt';
  if (!Number.isSafeInteger(version) || (version as number) < 1) return 'no version';
  return { write, attempt: attempt as number, version: version as number };
}
