import { describe, expect, it } from 'vitest';
import { KINDS } from '#lib/kinds.ts';
import { callsPerMinutePerInvocation, splitConcurrencyBudget } from '../../infra/concurrency.ts';

describe('splitConcurrencyBudget', () => {
  it('lets each kind run enough invocations to keep the whole budget busy on its own, twice over (the fleet slots cap the calls)', () => {
    expect(splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1 })).toEqual({
      attachment: 20,
      photo: 20,
      'bulk-write': 20,
    });
    expect(splitConcurrencyBudget({ budget: 25, inFlightPerInvocation: 2 }).attachment).toBe(25);
    expect(splitConcurrencyBudget({ budget: 25, inFlightPerInvocation: 3 }).attachment).toBe(17);
  });

  it('never goes under SQS minimum of 2 invocations', () => {
    for (const kind of KINDS) {
      expect(
        splitConcurrencyBudget({
          budget: 1,
          inFlightPerInvocation: 1,
          floors: { attachment: 0, photo: 0, 'bulk-write': 0 },
        })[kind],
      ).toBe(2);
    }
  });

  it('refuses a budget out of range and floors that take more than the budget', () => {
    expect(() => splitConcurrencyBudget({ budget: 0, inFlightPerInvocation: 1 })).toThrow(/from 1 to 100/);
    expect(() => splitConcurrencyBudget({ budget: 101, inFlightPerInvocation: 1 })).toThrow(/from 1 to 100/);
    expect(() => splitConcurrencyBudget({ budget: 2, inFlightPerInvocation: 1 })).toThrow(
      /concurrency.slotFloors take 3 slots, more than concurrency.budget 2/,
    );
    expect(() =>
      splitConcurrencyBudget({
        budget: 10,
        inFlightPerInvocation: 1,
        floors: { attachment: 1.5, photo: -1, 'bulk-write': 1 },
      }),
    ).toThrow(
      /concurrency.slotFloors must be whole numbers of slots \(0 or more\); got attachment=1.5, photo=-1/,
    );
  });

  it('takes an explicit split, and refuses one under 2 or over 1000', () => {
    const split = { attachment: 6, photo: 2, 'bulk-write': 2 };
    expect(splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1, split })).toEqual(split);
    expect(() =>
      splitConcurrencyBudget({ budget: 10, inFlightPerInvocation: 1, split: { ...split, photo: 1 } }),
    ).toThrow(/concurrency.split.photo must be an integer between 2/);
  });
});

describe('callsPerMinutePerInvocation', () => {
  it('shares a fleet-wide cap between the invocations, at least 1 each', () => {
    const split = { attachment: 4, photo: 4, 'bulk-write': 2 };
    expect(callsPerMinutePerInvocation(undefined, split)).toBeUndefined();
    expect(callsPerMinutePerInvocation(100, split)).toBe(10);
    expect(callsPerMinutePerInvocation(105, split)).toBe(10);
    expect(callsPerMinutePerInvocation(3, split)).toBe(1);
    expect(() => callsPerMinutePerInvocation(0, split)).toThrow(/concurrency.callsPerMinute/);
  });
});
