/**
 * The slot items in the DynamoDB table, as one container (`holder`) reads and writes them. A slot
 * is held by a conditional write of { holder, until }; a lease ends at `until` (epoch ms). A kind
 * that wants its floor slot back marks it `wanted`. Holders are `{kind}#{uuid}`.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export interface SlotTableOptions {
  client: DynamoDBClient;
  tableName: string;
  /** The kind of the container: its holder id starts with it. */
  kind: string;
  holder: string;
  /** Every slot key the container may take: at most one BatchGetItem's worth. */
  keys: string[];
  leaseMs: number;
  now: () => number;
}

/** What one look found, as sets of slot keys. */
export interface SlotLook {
  /** No live lease holds them. */
  free: Set<string>;
  /** Their kind wants them back. */
  wanted: Set<string>;
  /** Held by a container of another kind. */
  borrowed: Set<string>;
}

export type SlotTable = ReturnType<typeof slotTable>;

/** `until` is a reserved word in DynamoDB's expressions. */
const UNTIL = { '#until': 'until' };

interface SlotWrite {
  expression: string;
  condition: string;
  names?: Record<string, string>;
  values?: Record<string, AttributeValue>;
}

export function slotTable(options: SlotTableOptions) {
  const { leaseMs, now } = options;
  const epochMs = (ms: number): AttributeValue => ({ N: String(ms) });
  return {
    look: () => look(options),
    take: (key: string) =>
      update(options, key, {
        expression: 'SET holder = :holder, #until = :until REMOVE wanted',
        condition: 'attribute_not_exists(#until) OR #until < :now',
        names: UNTIL,
        values: { ':until': epochMs(now() + leaseMs), ':now': epochMs(now()) },
      }),
    renew: (key: string) =>
      update(options, key, {
        expression: 'SET #until = :until',
        condition: 'holder = :holder',
        names: UNTIL,
        values: { ':until': epochMs(now() + leaseMs) },
      }),
    /** Tells whoever holds one of this kind's floor slots that the kind wants it back. */
    want: (key: string) =>
      update(options, key, {
        expression: 'SET wanted = :holder',
        condition: 'attribute_exists(holder) AND holder <> :holder',
      }),
    giveBack: (key: string) =>
      update(options, key, {
        expression: 'REMOVE holder, #until',
        condition: 'holder = :holder',
        names: UNTIL,
      }),
  };
}

/** A conditional update of one slot item: true when it was made, false when the condition failed. */
async function update(options: SlotTableOptions, key: string, write: SlotWrite): Promise<boolean> {
  try {
    await options.client.send(
      new UpdateItemCommand({
        TableName: options.tableName,
        Key: { pk: { S: key } },
        UpdateExpression: write.expression,
        ConditionExpression: write.condition,
        ...(write.names ? { ExpressionAttributeNames: write.names } : {}),
        ExpressionAttributeValues: { ':holder': { S: options.holder }, ...write.values },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** One read of every slot. Keys DynamoDB did not get to count as held: the next look reads them. */
async function look(options: SlotTableOptions): Promise<SlotLook> {
  const { client, tableName, kind, keys } = options;
  const answer = await client.send(
    new BatchGetItemCommand({
      RequestItems: { [tableName]: { Keys: keys.map((pk) => ({ pk: { S: pk } })), ConsistentRead: true } },
    }),
  );
  const held = new Set<string>();
  const wanted = new Set<string>();
  const borrowed = new Set<string>();
  const at = options.now();
  for (const item of answer.Responses?.[tableName] ?? []) {
    const key = item.pk?.S;
    if (!key) continue;
    const until = Number(item.until?.N);
    if (!(Number.isFinite(until) && until >= at)) continue;
    held.add(key);
    if (item.wanted) wanted.add(key);
    if (!item.holder?.S?.startsWith(`${kind}#`)) borrowed.add(key);
  }
  for (const key of answer.UnprocessedKeys?.[tableName]?.Keys ?? []) if (key.pk?.S) held.add(key.pk.S);
  return { free: new Set(keys.filter((key) => !held.has(key))), wanted, borrowed };
}
