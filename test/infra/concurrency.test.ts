import { describe, expect, it } from 'vitest';
import {
  type ConcurrencySplit,
  callsPerMinutePerInvocation,
  KINDS,
  splitConcurrencyBudget,
} from '../../infra/concurrency.ts';

/** The most Zoho calls the fleet can have open: every event source full, each invocation at its cap. */
const callsInFlight = (split: ConcurrencySplit, inFlight: number) =>
  KINDS.reduce((sum, kind) => sum + split[kind] * inFlight, 0);

describe('splitConcurrencyBudget', () => {
  it('splits the Standard edition budget of 10 as 4 attachments, 4 photos, 2 bulk writes', () => {
    expect(splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1 })).toEqual({
      attachment: 4,
      photo: 4,
      'bulk-write': 2,
    });
  });

  it('never exceeds the budget and gives every event source at least 2', () => {
    for (let budget = 6; budget <= 60; budget++) {
      for (const inFlight of [1, 2, 3]) {
        if (Math.floor(budget / inFlight) < 6) continue;
        const split = splitConcurrencyBudget({ budget, inFlightPerInvocation: inFlight });
        expect(callsInFlight(split, inFlight), `budget ${budget} × ${inFlight}`).toBeLessThanOrEqual(budget);
        expect(callsInFlight(split, inFlight)).toBeGreaterThan(budget - inFlight);
        for (const kind of KINDS) expect(split[kind]).toBeGreaterThanOrEqual(2);
      }
    }
  });

  it('refuses budgets that cannot hold three event sources of 2', () => {
    expect(() => splitConcurrencyBudget({ budget: 5, inFlightPerInvocation: 1 })).toThrow(
      /zohoConcurrencyBudget 5 is too small.*at least 2/,
    );
    expect(() => splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 2 })).toThrow(/too small/);
    expect(() => splitConcurrencyBudget({ budget: 0, inFlightPerInvocation: 1 })).toThrow(/positive integer/);
  });

  it('takes an explicit split when it fits, and refuses one under 2 or over the budget', () => {
    const split = { attachment: 6, photo: 2, 'bulk-write': 2 };
    expect(splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1, split })).toEqual(split);
    expect(() =>
      splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1, split: { ...split, photo: 1 } }),
    ).toThrow(/concurrencySplit.photo must be an integer between 2/);
    expect(() => splitConcurrencyBudget({ budget: 12, inFlightPerInvocation: 2, split })).toThrow(
      /= 20 exceeds zohoConcurrencyBudget 12/,
    );
  });
});

describe('callsPerMinutePerInvocation', () => {
  it('shares a fleet-wide cap between the invocations, at least 1 each', () => {
    const split = { attachment: 4, photo: 4, 'bulk-write': 2 };
    expect(callsPerMinutePerInvocation(undefined, split)).toBeUndefined();
    expect(callsPerMinutePerInvocation(100, split)).toBe(10);
    expect(callsPerMinutePerInvocation(105, split)).toBe(10);
    expect(callsPerMinutePerInvocation(3, split)).toBe(1);
    expect(() => callsPerMinutePerInvocation(0, split)).toThrow(/zohoCallsPerMinute/);
  });
});
