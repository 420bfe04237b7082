/**
 * How the Zoho org's concurrency limit is shared between the three functions.
 *
 * Every running invocation makes at most `inFlightPerInvocation` Zoho calls at once
 * (ZOHO_MAX_IN_FLIGHT), and the SQS event source runs at most `maxConcurrency` invocations of a
 * kind, so the fleet never has more than
 *
 *     Σ over kinds (maxConcurrency[kind] × inFlightPerInvocation)
 *
 * calls open. That sum must stay within the budget.
 */

import { KINDS, type Kind } from '#lib/routing/route.ts';

export { KINDS, type Kind };

/** Zoho CRM Standard edition: 10 concurrent API calls per org (higher editions allow more). */
export const DEFAULT_ZOHO_CONCURRENCY_BUDGET = 10;

/** The smallest maximum concurrency an SQS event source accepts. */
const SQS_MIN_MAX_CONCURRENCY = 2;

/** The largest maximum concurrency an SQS event source accepts. */
const SQS_MAX_MAX_CONCURRENCY = 1000;

/** Attachments and photos are the busy kinds; a bulk write is a few calls spread over minutes. */
const WEIGHTS: Record<Kind, number> = { attachment: 2, photo: 2, 'bulk-write': 1 };

export type ConcurrencySplit = Record<Kind, number>;

export interface ConcurrencyOptions {
  /** Concurrent Zoho calls the org allows this deployment to use. */
  budget: number;
  /** Zoho calls one invocation may have open at once (ZOHO_MAX_IN_FLIGHT). */
  inFlightPerInvocation: number;
  /** An explicit number of concurrent invocations per kind; checked against the budget. */
  split?: ConcurrencySplit | undefined;
}

/**
 * The number of concurrent invocations per kind. Throws with a message naming the setting when
 * the budget cannot hold the three event sources (each needs at least 2 invocations).
 */
export function splitConcurrencyBudget(options: ConcurrencyOptions): ConcurrencySplit {
  const { budget, inFlightPerInvocation, split } = options;
  if (!Number.isInteger(budget) || budget < 1) {
    throw new Error(`zohoConcurrencyBudget must be a positive integer, got ${budget}`);
  }
  if (!Number.isInteger(inFlightPerInvocation) || inFlightPerInvocation < 1) {
    throw new Error(`zohoMaxInFlightPerInvocation must be a positive integer, got ${inFlightPerInvocation}`);
  }
  const invocations = Math.floor(budget / inFlightPerInvocation);
  const minimum = SQS_MIN_MAX_CONCURRENCY * KINDS.length;
  if (invocations < minimum) {
    throw new Error(
      `zohoConcurrencyBudget ${budget} is too small: each of the ${KINDS.length} SQS event sources needs a ` +
        `maximum concurrency of at least ${SQS_MIN_MAX_CONCURRENCY}, so the budget must allow ${minimum} ` +
        `invocations × ${inFlightPerInvocation} Zoho call(s) each = ${minimum * inFlightPerInvocation}`,
    );
  }
  return split ? checkSplit(split, budget, inFlightPerInvocation) : weightedSplit(invocations);
}

/** Sum over kinds of invocations × calls per invocation: the most Zoho calls the fleet can have open. */
function maxZohoCallsInFlight(split: ConcurrencySplit, inFlightPerInvocation: number): number {
  return KINDS.reduce((sum, kind) => sum + split[kind] * inFlightPerInvocation, 0);
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
    throw new Error(`zohoCallsPerMinute must be a positive integer, got ${fleetCallsPerMinute}`);
  }
  const invocations = KINDS.reduce((sum, kind) => sum + split[kind], 0);
  return Math.max(1, Math.floor(fleetCallsPerMinute / invocations));
}

function checkSplit(
  split: ConcurrencySplit,
  budget: number,
  inFlightPerInvocation: number,
): ConcurrencySplit {
  for (const kind of KINDS) {
    const value = split[kind];
    if (!Number.isInteger(value) || value < SQS_MIN_MAX_CONCURRENCY || value > SQS_MAX_MAX_CONCURRENCY) {
      throw new Error(
        `concurrencySplit.${kind} must be an integer between ${SQS_MIN_MAX_CONCURRENCY} and ` +
          `${SQS_MAX_MAX_CONCURRENCY} (the SQS event source limits), got ${value}`,
      );
    }
  }
  const total = maxZohoCallsInFlight(split, inFlightPerInvocation);
  if (total > budget) {
    throw new Error(
      `concurrencySplit ${KINDS.map((k) => `${k}=${split[k]}`).join(', ')} × ${inFlightPerInvocation} Zoho ` +
        `call(s) each = ${total} exceeds zohoConcurrencyBudget ${budget}`,
    );
  }
  return { ...split };
}

/** Everyone gets the minimum; the rest goes one by one to the kind furthest below its weighted share. */
function weightedSplit(invocations: number): ConcurrencySplit {
  const capped = Math.min(invocations, SQS_MAX_MAX_CONCURRENCY * KINDS.length);
  const totalWeight = KINDS.reduce((sum, kind) => sum + WEIGHTS[kind], 0);
  const split: ConcurrencySplit = { attachment: 2, photo: 2, 'bulk-write': 2 };
  let left = capped - SQS_MIN_MAX_CONCURRENCY * KINDS.length;
  while (left > 0) {
    const open = KINDS.filter((kind) => split[kind] < SQS_MAX_MAX_CONCURRENCY);
    const deficit = (kind: Kind) => (capped * WEIGHTS[kind]) / totalWeight - split[kind];
    const neediest = open.reduce((best, kind) => (deficit(kind) > deficit(best) ? kind : best));
    split[neediest] += 1;
    left -= 1;
  }
  return split;
}
