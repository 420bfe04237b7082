import { describe, expect, it } from 'vitest';
import { fleetBudgetProblem, MAX_FLEET_BUDGET, slotKeys } from '#zoho/fleet/keys.ts';

describe('fleet slot keys', () => {
  it('lays out a kind’s floor, the shared slots and the other kinds’ floors', () => {
    expect(slotKeys('photo', 4, { attachment: 1, photo: 2 })).toEqual({
      own: ['slot#floor#photo#0', 'slot#floor#photo#1'],
      shared: ['slot#shared#0'],
      others: ['slot#floor#attachment#0'],
    });
  });

  it('checks the budget in one place: a whole number of slots one BatchGetItem reads', () => {
    expect(MAX_FLEET_BUDGET).toBe(100);
    expect(fleetBudgetProblem(100, 'B')).toBeUndefined();
    expect(fleetBudgetProblem(0, 'B')).toBe('B must be an integer from 1 to 100, got 0');
    expect(fleetBudgetProblem(1.5, 'B')).toMatch(/^B must be an integer/);
    expect(() => slotKeys('photo', 101, {})).toThrow(RangeError);
    expect(() => slotKeys('photo', 2, { photo: 3 })).toThrow(/exceed the fleet's budget of 2/);
  });
});
