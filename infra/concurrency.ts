/**
 * How the Zoho org's concurrency limit is shared between the three functions.
 *
 * The functions share the budget through fleet-wide slots in the token table
 * (functions/lib/zoho/fleet/, ZOHO_CONCURRENCY_BUDGET): the calls in flight across every
 * container of every kind never pass the budget, and any kind may use the slots the others leave
 * free, each kind first taking its floor (ZOHO_SLOT_FLOORS). So each kind's SQS event source may
 * run as many invocations as can fill the whole budget on their own, twice over:
 *
 *     maxConcurrency[kind] = 2 × budget / inFlightPerInvocation   (at least 2, SQS's minimum)
 *
 * Twice, because an invocation does not call Zoho all the time: it also looks at the object,
 * marks it and writes its outcome, and while files trickle in its batch holds a single file. With
 * one invocation per slot, a measured third of the slots stood idle while the files arrived
 * (bench/throughput.ts). More only wait for slots, which the fleet's slots keep within the budget.
 */
import { slotFloorsProblem } from '#lib/config.ts';
import { DEFAULT_SLOT_FLOORS, KINDS, type Kind, perKind } from '#lib/kinds.ts';
import { fleetBudgetProblem } from '#zoho/fleet/keys.ts';

/** Zoho CRM Standard edition: 10 concurrent API calls per org (higher editions allow more). */
export const DEFAULT_ZOHO_CONCURRENCY_BUDGET = 10;

/** Invocations per slot: one calling Zoho while another reads S3 or writes its outcome. */
const INVOCATIONS_PER_SLOT = 2;

/** The smallest maximum concurrency an SQS event source accepts. */
const SQS_MIN_MAX_CONCURRENCY = 2;

/** The largest maximum concurrency an SQS event source accepts. */
const SQS_MAX_MAX_CONCURRENCY = 1000;

export type ConcurrencySplit = Record<Kind, number>;
export type SlotFloors = Record<Kind, number>;

export interface ConcurrencyOptions {
  /** Concurrent Zoho calls the org allows this deployment to use (ZOHO_CONCURRENCY_BUDGET). */
  budget: number;
  /** Zoho calls one invocation may have open at once (ZOHO_MAX_IN_FLIGHT). */
  inFlightPerInvocation: number;
  /** An explicit number of concurrent invocations per kind. */
  split?: ConcurrencySplit | undefined;
  /** The slots each kind takes first; they come out of the budget. */
  floors?: SlotFloors | undefined;
}

/**
 * The maximum concurrency of each kind's event source: by default enough invocations for one
 * kind to keep the whole budget busy. Throws with a message naming the setting when a value is out
 * of range or the floors take more than the budget.
 */
export function splitConcurrencyBudget(options: ConcurrencyOptions): ConcurrencySplit {
  const { budget, inFlightPerInvocation, split } = options;
  const budgetProblem = fleetBudgetProblem(budget, 'concurrency.budget');
  if (budgetProblem) throw new Error(budgetProblem);
  if (!Number.isInteger(inFlightPerInvocation) || inFlightPerInvocation < 1) {
    throw new Error(
      `concurrency.maxInFlightPerInvocation must be a positive integer, got ${inFlightPerInvocation}`,
    );
  }
  const floorsProblem = slotFloorsProblem(options.floors ?? DEFAULT_SLOT_FLOORS, budget, {
    floors: 'concurrency.slotFloors',
    budget: 'concurrency.budget',
  });
  if (floorsProblem) throw new Error(floorsProblem);
  if (split) return checkSplit(split);
  const fill = Math.ceil((INVOCATIONS_PER_SLOT * budget) / inFlightPerInvocation);
  const each = Math.min(Math.max(fill, SQS_MIN_MAX_CONCURRENCY), SQS_MAX_MAX_CONCURRENCY);
  return perKind(() => each);
}

/**
 * A fleet-wide per-minute cap shared the same way: each invocation gets its share, at least 1.
 * Returns undefined when there is no cap.
 */
export function callsPerMinutePerInvocation(
  fleetCallsPerMinute: number | undefined,
  split: ConcurrencySplit,
): number | undefined {
  if (fleetCallsPerMinute === undefined) return undefined;
  if (!Number.isInteger(fleetCallsPerMinute) || fleetCallsPerMinute < 1) {
    throw new Error(`concurrency.callsPerMinute must be a positive integer, got ${fleetCallsPerMinute}`);
  }
  const invocations = KINDS.reduce((sum, kind) => sum + split[kind], 0);
  return Math.max(1, Math.floor(fleetCallsPerMinute / invocations));
}

function checkSplit(split: ConcurrencySplit): ConcurrencySplit {
  for (const kind of KINDS) {
    const value = split[kind];
    if (!Number.isInteger(value) || value < SQS_MIN_MAX_CONCURRENCY || value > SQS_MAX_MAX_CONCURRENCY) {
      throw new Error(
        `concurrency.split.${kind} must be an integer between ${SQS_MIN_MAX_CONCURRENCY} and ` +
          `${SQS_MAX_MAX_CONCURRENCY} (the SQS event source limits), got ${value}`,
      );
    }
  }
  return { ...split };
}
