/**
 * The fleet's slot keys: one item per slot, `slot#floor#{kind}#{i}` (each kind's floor: slots it
 * takes first) and `slot#shared#{i}` (the rest of the budget), and the budget they come out of.
 */
import { BATCH_GET_MAX_KEYS } from '../../dynamodb-limits.ts';

/** Every slot is read in one look: one BatchGetItem. */
export const MAX_FLEET_BUDGET = BATCH_GET_MAX_KEYS;

/** Why `budget` cannot be the fleet's budget, naming the setting as the caller calls it, or undefined. */
export function fleetBudgetProblem(budget: number, name: string): string | undefined {
  return Number.isInteger(budget) && budget >= 1 && budget <= MAX_FLEET_BUDGET
    ? undefined
    : `${name} must be an integer from 1 to ${MAX_FLEET_BUDGET}, got ${budget}`;
}

/** The slot keys in the order `kind` takes them: its floor, the shared ones, other kinds' floors. */
export function slotKeys(
  kind: string,
  budget: number,
  floors: Record<string, number>,
): { own: string[]; shared: string[]; others: string[] } {
  const floorKeys = (k: string) => Array.from({ length: floors[k] ?? 0 }, (_, i) => `slot#floor#${k}#${i}`);
  const floorTotal = Object.values(floors).reduce((sum, n) => sum + n, 0);
  const budgetProblem = fleetBudgetProblem(budget, "The fleet's Zoho budget");
  if (budgetProblem) throw new RangeError(budgetProblem);
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
