/**
 * `npm start` killed with SIGKILL while files are put, and started again, nothing done by hand:
 * the short version of `npm run bench:crash` (bench/crash-run.ts), with Zoho (the sandbox) in a
 * process of its own. The function timeout is a few seconds here, so the messages in flight at a
 * kill come back quickly.
 */
import { describe, expect, it } from 'vitest';
import { runCrash } from '../../bench/crash-run.ts';

const FUNCTION_TIMEOUT_SECONDS = 10;

describe('npm start through kill -9', () => {
  it('delivers every file put across two kills exactly once, tagged done with its attachment id', async () => {
    const result = await runCrash({
      files: 12,
      fileBytes: 1024,
      kills: 2,
      functionTimeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
      maxKillDelayMs: 1_500,
    });

    expect(result).toMatchObject({ lost: [], duplicated: [], notFinal: [], wrongId: [] });
    // Settled without a command; how fast (the goal is 2 × the function timeout) is bench:crash's to measure.
    expect(result.settleMs).toBeDefined();
  }, 180_000);
});
