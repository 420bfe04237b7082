/**
 * Zoho's concurrency limit is per org, not per function: a fleet-wide semaphore in the DynamoDB
 * table the access token already lives in, so the calls in flight across every container of every
 * kind never pass the org's budget, while one busy kind may use every slot the others leave free.
 *
 * One item per slot (keys.ts), held by a conditional write (table.ts); a lease is renewed every
 * third of it while held, so the slots of a container that dies come free by themselves. A kind
 * takes its own floor, then shared slots, then another kind's idle floor slot. A container hands
 * a slot it is done with straight to its own next waiting call, with no write. A kind whose calls wait marks its floor slots that
 * another kind holds `wanted` (holders are `{kind}#{uuid}`); a borrower's poller (it looks while
 * its own calls wait) sees the mark and gives the slot back after the call in progress. So a
 * flood of one kind keeps another from its floor for a call and a look or two, and a kind alone
 * keeps every slot busy.
 *
 * This file is the scheduler: who waits, which slot goes to whom, when one goes back. It implements
 * the pacer's interface, so the client takes it beside its own per-container pacer.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Pacer, Release } from '../pacing.ts';
import { deadlineError, realSleep, type Sleep } from '../retry.ts';
import { slotKeys } from './keys.ts';
import { type SlotTable, slotTable } from './table.ts';

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

export function createFleetSlots(options: FleetSlotsOptions): Pacer {
  return new FleetSlots(options);
}

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
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.table = slotTable({
      client: options.client,
      tableName: options.tableName,
      kind: options.kind,
      holder: `${options.kind}#${randomUUID()}`,
      keys: [...this.keys.own, ...this.keys.shared, ...this.keys.others],
      leaseMs: this.leaseMs,
      now: options.now ?? Date.now,
    });
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
