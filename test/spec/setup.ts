/**
 * Vitest setup (vitest.config.ts): every sandbox any test starts in this process has each
 * exchange checked against Zoho's spec (crm-oas.ts); the test during which a violation happened
 * fails with it, and one found outside a test (a beforeAll) fails the file. Without
 * ../shared/crm-oas nothing is checked (test/spec/crm-oas.test.ts says so in one line).
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { observeExchanges } from '#sandbox/exchange.ts';
import { checkExchange, loadSpec, SPEC_PRESENT } from './crm-oas.ts';
import { describeViolation, type SpecViolation } from './exceptions.ts';

const found: SpecViolation[] = [];

/** The violations recorded since the last call, taken off the record (a test that causes some on purpose). */
export function takeSpecViolations(): SpecViolation[] {
  return found.splice(0);
}

function failOnViolations(): void {
  const violations = takeSpecViolations();
  if (violations.length === 0) return;
  const lines = violations.map((v) => `  - ${describeViolation(v)}`);
  throw new Error(
    `The sandbox disagreed with Zoho's spec (crm-oas v8.0) ${violations.length} time(s):\n${lines.join('\n')}`,
  );
}

if (SPEC_PRESENT) {
  // Read before the tests of a file that may start a sandbox, so that reading it never lands in a test's timing.
  beforeAll(() => {
    if (/[/\\]test[/\\](integration|spec)[/\\]/.test(expect.getState().testPath ?? '')) loadSpec();
  });
  observeExchanges((exchange) => {
    found.push(...checkExchange(exchange));
  });
  afterEach(failOnViolations);
  afterAll(failOnViolations);
}
