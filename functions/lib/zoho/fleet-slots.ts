/**
 * Zoho's concurrency limit is per org, not per function: a fleet-wide semaphore in the DynamoDB
 * table the access token already lives in, so the calls in flight across every container of every
 * kind never pass the org's budget, while one busy kind may use every slot the others leave free.
 *
 * One item per slot: `slot#floor#{kind}#{i}` (each kind's floor: slots it takes first) and
 * `slot#shared#{i}` (the rest of the budget). A slot is held by a conditional write of
 * { holder, until }; a lease ends at `until` (renewed every third of it while held), so the slots
 * of a container that dies come free by themselves. A kind takes its own floor, then shared
 * slots, then another kind's idle floor slot. A container hands a slot it is done with straight
 * to its own next waiting call, with no write. A kind whose calls wait marks its floor slots that
 * another kind holds `wanted` (holders are `{kind}#{uuid}`); a borrower's poller (it looks while
 * its own calls wait) sees the mark and gives the slot back after the call in progress. So a
 * flood of one kind keeps another from its floor for a call and a look or two, and a kind alone
 * keeps every slot busy.
 *
 * Implements the pacer's interface, so the client takes it beside its own per-container pacer.
 */
import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Pacer, Release } from './pacing.ts';
import { deadlineError, realSleep, type Sleep } from './retry.ts';

export interface FleetSlotsOptions {
  client: DynamoDBClient;
  tableName: string;
  /** This container's kind. */
  kind: string;
  /** Zoho calls the whole fleet may have in flight (the org's concurrency limit, or the share of it this stack may use). */
  budget: number;
  /** Slots each kind takes before shared ones; the rest of the budget is shared. */
  floors: Record<string, number>;
  /** How long a slot stays held without renewal; default 30 s. */
  leaseMs?: number;
  /** How long a slot no call of this container waits for is kept before it goes back; default 20 ms. */
  lingerMs?: number;
  /** The longest wait between two looks for a free slot; default 250 ms. */
  maxPollMs?: number;
  now?: () => number;
  sleep?: Sleep;
  random?: () => number;
  onError?: (error: unknown) => void;
}

/** BatchGetItem reads at most 100 keys. */
export const MAX_FLEET_BUDGET = 100;
const FIRST_POLL_MS = 20;
const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_LINGER_MS = 20;

interface Slot {
  key: string;
  /** Another kind's floor slot: given back after one call. */
  borrowed: boolean;
  /** Renewal found someone else holding it (this container stalled past its lease). */
  lost: boolean;
  /** Borrowed, and its kind wants it back: it goes back after the call in progress. */
  wanted: boolean;
}

interface Waiter {
  grant(slot: Slot): void;
}

/** The slot keys in the order `kind` takes them: its floor, the shared ones, other kinds' floors. */
export function slotKeys(
  kind: string,
  budget: number,
  floors: Record<string, number>,
): { own: string[]; shared: string[]; others: string[] } {
  const floorKeys = (k: string) => Array.from({ length: floors[k] ?? 0 }, (_, i) => `slot#floor#${k}#${i}`);
  const floorTotal = Object.values(floors).reduce((sum, n) => sum + n, 0);
  if (!Number.isInteger(budget) || budget < 1 || budget > MAX_FLEET_BUDGET) {
    throw new RangeError(
      `The fleet's Zoho budget must be a whole number from 1 to ${MAX_FLEET_BUDGET}, got ${budget}`,
    );
  }
  if (floorTotal > budget) {
    throw new RangeError(
      `The kinds' floors (${floorTotal} slots in all) exceed the fleet's budget of ${budget}`,
    );
  }
  return {
    own: floorKeys(kind),
    shared: Array.from({ length: budget - floorTotal }, (_, i) => `slot#shared#${i}`),
    others: Object.keys(floors)
      .filter((k) => k !== kind)
      .flatMap(floorKeys),
  };
}

/** The slot items of the table, as this container (`holder`) reads and writes them. */
function slotTable(options: FleetSlotsOptions, holder: string, keys: string[]) {
  const { client, tableName, kind } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const now = options.now ?? Date.now;
  const update = async (
    key: string,
    expression: string,
    condition: string,
    values: Record<string, string>,
  ) => {
    // `until` is a reserved word; DynamoDB refuses a name the expressions do not use.
    const usesUntil = `${expression} ${condition}`.includes('#until');
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: key } },
          UpdateExpression: expression,
          ConditionExpression: condition,
          ...(usesUntil ? { ExpressionAttributeNames: { '#until': 'until' } } : {}),
          ExpressionAttributeValues: Object.fromEntries(
            Object.entries({ ':holder': holder, ...values }).map(([name, value]) => [
              name,
              name === ':holder' ? { S: value } : { N: value },
            ]),
          ),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    /**
     * The keys no live lease holds, those their kind wants back, and those held by a container of
     * another kind (holders are `{kind}#{uuid}`). Keys DynamoDB did not get to count as held: the
     * next look reads them.
     */
    async look(): Promise<{ free: Set<string>; wanted: Set<string>; borrowed: Set<string> }> {
      const answer = await client.send(
        new BatchGetItemCommand({
          RequestItems: {
            [tableName]: { Keys: keys.map((pk) => ({ pk: { S: pk } })), ConsistentRead: true },
          },
        }),
      );
      const held = new Set<string>();
      const wanted = new Set<string>();
      const borrowed = new Set<string>();
      const at = now();
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
    },
    take: (key: string) =>
      update(
        key,
        'SET holder = :holder, #until = :until REMOVE wanted',
        'attribute_not_exists(#until) OR #until < :now',
        { ':until': String(now() + leaseMs), ':now': String(now()) },
      ),
    renew: (key: string) =>
      update(key, 'SET #until = :until', 'holder = :holder', { ':until': String(now() + leaseMs) }),
    /** Tells whoever holds one of this kind's floor slots that the kind wants it back. */
    want: (key: string) =>
      update(key, 'SET wanted = :holder', 'attribute_exists(holder) AND holder <> :holder', {}),
    giveBack: (key: string) => update(key, 'REMOVE holder, #until', 'holder = :holder', {}),
  };
}

export function createFleetSlots(options: FleetSlotsOptions): Pacer {
  return new FleetSlots(options);
}

type SlotTable = ReturnType<typeof slotTable>;

class FleetSlots implements Pacer {
  private readonly keys: ReturnType<typeof slotKeys>;
  private readonly table: SlotTable;
  private readonly leaseMs: number;
  private readonly lingerMs: number;
  private readonly maxPollMs: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly onError: (error: unknown) => void;
  private readonly held = new Set<Slot>();
  /** Held, not in use: lingering for the next call. */
  private readonly idle: Slot[] = [];
  private readonly waiters: Waiter[] = [];
  private polling = false;
  private renewal: NodeJS.Timeout | undefined;

  constructor(options: FleetSlotsOptions) {
    this.keys = slotKeys(options.kind, options.budget, options.floors);
    this.table = slotTable(options, `${options.kind}#${randomUUID()}`, [
      ...this.keys.own,
      ...this.keys.shared,
      ...this.keys.others,
    ]);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    this.maxPollMs = options.maxPollMs ?? 250;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.onError = options.onError ?? (() => undefined);
  }

  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(deadlineError(signal));
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(deadlineError(signal));
      };
      const waiter: Waiter = {
        grant: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.release(slot);
          });
        },
      };
      const lingering = this.idle.shift();
      if (lingering) {
        waiter.grant(lingering);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      void this.poll();
    });
  }

  /** One poller per container, however many calls wait: it backs off while the fleet is full. */
  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    let pause = FIRST_POLL_MS;
    try {
      while (this.waiters.length > 0) {
        let taken = 0;
        try {
          taken = await this.takeFreeSlots();
        } catch (error) {
          this.onError(error);
        }
        if (this.waiters.length === 0) break;
        pause = taken > 0 ? FIRST_POLL_MS : Math.min(pause * 2, this.maxPollMs);
        await this.sleep(pause * (0.5 + this.random() / 2));
      }
    } finally {
      this.polling = false;
    }
  }

  /**
   * One look: takes free slots, in the kind's order, for as many calls as wait (all at once).
   * Calls still waiting then mark the kind's floor slots others hold as wanted.
   */
  private async takeFreeSlots(): Promise<number> {
    const { free, wanted, borrowed } = await this.table.look();
    for (const slot of this.held) if (slot.borrowed && wanted.has(slot.key)) slot.wanted = true;
    const { own, shared, others } = this.keys;
    const candidates = [...own, ...this.shuffled(shared), ...this.shuffled(others)]
      .filter((key) => free.has(key))
      .slice(0, this.waiters.length);
    const taken = (
      await Promise.all(candidates.map(async (key) => ((await this.table.take(key)) ? key : undefined)))
    ).filter((key) => key !== undefined);
    for (const key of taken) {
      const slot: Slot = { key, borrowed: others.includes(key), lost: false, wanted: false };
      this.held.add(slot);
      this.renewal ??= setInterval(() => void this.renewAll(), this.leaseMs / 3);
      this.renewal.unref?.();
      const waiter = this.waiters.shift();
      if (waiter) waiter.grant(slot);
      else this.giveBack(slot);
    }
    // Marked once: not a slot of this kind's own containers, nor one already marked.
    const wantBack = own.filter((key) => borrowed.has(key) && !wanted.has(key));
    if (this.waiters.length > 0) await Promise.all(wantBack.map((key) => this.table.want(key)));
    return taken.length;
  }

  private shuffled(list: string[]): string[] {
    return list
      .map((key) => ({ key, order: this.random() }))
      .sort((a, b) => a.order - b.order)
      .map((entry) => entry.key);
  }

  /**
   * The next call of this container gets the slot, unless its lease was lost. With no call waiting
   * the slot stays a moment (`lingerMs`) for the next one, then goes back: a busy container does
   * not write twice per call, an idle one frees its slots at once. A borrowed slot goes on only
   * while its kind does not want it, and never lingers.
   */
  private release(slot: Slot): void {
    const next = slot.lost || slot.wanted ? undefined : this.waiters.shift();
    if (next) next.grant(slot);
    else if (slot.borrowed || slot.lost) this.giveBack(slot);
    else this.linger(slot);
  }

  private linger(slot: Slot): void {
    this.idle.push(slot);
    setTimeout(() => {
      const index = this.idle.indexOf(slot);
      if (index < 0) return;
      this.idle.splice(index, 1);
      this.giveBack(slot);
    }, this.lingerMs).unref?.();
  }

  private giveBack(slot: Slot): void {
    this.held.delete(slot);
    if (this.held.size === 0 && this.renewal) {
      clearInterval(this.renewal);
      this.renewal = undefined;
    }
    if (!slot.lost) void this.table.giveBack(slot.key).catch(this.onError);
  }

  private async renewAll(): Promise<void> {
    for (const slot of this.held) {
      try {
        if (!(await this.table.renew(slot.key))) slot.lost = true;
      } catch (error) {
        this.onError(error);
      }
    }
  }
}

/** Both turns, the first one first (e.g. the container's own pacer, then a fleet slot). */
export function combinePacers(first: Pacer, second: Pacer | undefined): Pacer {
  if (!second) return first;
  return {
    async acquire(signal) {
      const releaseFirst = await first.acquire(signal);
      try {
        const releaseSecond = await second.acquire(signal);
        return () => {
          releaseSecond();
          releaseFirst();
        };
      } catch (error) {
        releaseFirst();
        throw error;
      }
    },
  };
}
