/**
 * The full text of an outcome's reason, when the `zoho-reason` tag could hold only a short form
 * (S3 tag values take no quotes, commas or brackets and at most 256 characters: tags.ts
 * `tagValue`). It is kept in the idempotency ledger table (IDEMPOTENCY_TABLE), one item per
 * object, for `npm run status` (tools/ops/bucket-status.ts) to show; a reason its tag holds as it is
 * costs no write at all.
 *
 * Item: { id: `reason#{bucket}/{key}`, at (the outcome's `zoho-at`), status, code?, reason,
 * expiration (TTL, s) }. The status command trusts an item only when its `at` is the tag's: an
 * item left by an earlier outcome of the object is stale.
 */
import { BatchGetItemCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { BATCH_GET_MAX_KEYS } from '#lib/dynamodb-limits.ts';
import type { Log } from '#lib/log.ts';
import { tagValue } from '#lib/s3/tags.ts';
import { readOutcome } from './outcome-tags.ts';

/**
 * As long as the functions' logs are kept by default (the stack's `logRetention`, one month),
 * where the same text is: past that the tag's short form is what is left.
 */
export const FULL_REASON_TTL_SECONDS = 30 * 24 * 3600;
/** Rounds of keys DynamoDB left unprocessed before those are given up (their tags' text stays). */
const MAX_UNPROCESSED_ROUNDS = 3;

export interface FullReason {
  /** The outcome's `zoho-at`. */
  at: string;
  status: string;
  code: string | undefined;
  reason: string;
}

export function fullReasonId(bucket: string, key: string): string {
  return `reason#${bucket}/${key}`;
}

/** The ledger table (IDEMPOTENCY_TABLE) and its client. */
export interface LedgerTable {
  client: DynamoDBClient;
  tableName: string;
}

/**
 * Keeps the outcome's full reason (from its tags, before S3's spelling) when the `zoho-reason`
 * tag holds only a short form of it; nothing otherwise (no call at all). A failure to keep it is warned about, never thrown: the
 * tag and the log line still say the outcome.
 */
export async function keepFullReason(
  deps: { ledger: LedgerTable; log: Log; now: () => Date },
  object: { bucket: string; key: string },
  tags: Record<string, string>,
): Promise<void> {
  const { reason, at, code, status } = readOutcome(tags);
  if (!reason || !at || tagValue(reason) === reason) return;
  try {
    await deps.ledger.client.send(
      new PutItemCommand({
        TableName: deps.ledger.tableName,
        Item: {
          id: { S: fullReasonId(object.bucket, object.key) },
          at: { S: at },
          status: { S: status ?? '' },
          ...(code ? { code: { S: code } } : {}),
          reason: { S: reason },
          expiration: { N: String(Math.floor(deps.now().getTime() / 1000) + FULL_REASON_TTL_SECONDS) },
        },
      }),
    );
  } catch (error) {
    deps.log.warn('Could not keep the full reason in the ledger table; the tag holds its short form', {
      bucket: object.bucket,
      key: object.key,
      error,
    });
  }
}

/** The full reasons kept for these keys of the bucket, by key (keys without one are left out). */
export async function readFullReasons(
  { client, tableName }: LedgerTable,
  bucket: string,
  keys: readonly string[],
): Promise<Map<string, FullReason>> {
  const byId = new Map([...new Set(keys)].map((key) => [fullReasonId(bucket, key), key]));
  const found = new Map<string, FullReason>();
  const ids = [...byId.keys()];
  for (let start = 0; start < ids.length; start += BATCH_GET_MAX_KEYS) {
    let pending = ids.slice(start, start + BATCH_GET_MAX_KEYS).map((id) => ({ id: { S: id } }));
    for (let round = 0; pending.length > 0 && round <= MAX_UNPROCESSED_ROUNDS; round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** round));
      const answer = await client.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: pending } } }),
      );
      for (const item of answer.Responses?.[tableName] ?? []) {
        const key = byId.get(item.id?.S ?? '');
        const at = item.at?.S;
        const reason = item.reason?.S;
        if (key === undefined || !at || reason === undefined) continue;
        found.set(key, { at, status: item.status?.S ?? '', code: item.code?.S, reason });
      }
      pending = (answer.UnprocessedKeys?.[tableName]?.Keys ?? []).map((k) => ({ id: { S: k.id?.S ?? '' } }));
    }
  }
  return found;
}
