import { describe, expect, it } from 'vitest';
import { ZohoDeadlineError } from '#zoho/errors.ts';
import { createPacer, type Pacer } from '#zoho/pacing.ts';

/** Whether a turn asked for now is given at once (then it is given back), or has to wait. */
async function turnFree(pacer: Pacer): Promise<boolean> {
  const controller = new AbortController();
  const turn = pacer.acquire(controller.signal);
  const given = await Promise.race([
    turn.then(() => true),
    new Promise<false>((r) => setImmediate(() => r(false))),
  ]);
  if (given) (await turn)();
  else {
    controller.abort();
    await turn.catch(() => undefined);
  }
  return given;
}

describe('pacing', () => {
  it('lets maxInFlight calls run at once and queues the rest in order', async () => {
    const pacer = createPacer({ maxInFlight: 2 });
    const first = await pacer.acquire();
    const second = await pacer.acquire();
    const order: string[] = [];
    const third = pacer.acquire().then((release) => {
      order.push('third');
      return release;
    });
    const fourth = pacer.acquire().then((release) => {
      order.push('fourth');
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    first();
    first(); // a second release of the same turn changes nothing
    const releaseThird = await third;
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['third']);
    second();
    (await fourth)();
    expect(await turnFree(pacer)).toBe(true);
    releaseThird();
    const [a, b] = [await pacer.acquire(), await pacer.acquire()];
    expect(await turnFree(pacer)).toBe(false);
    a();
    b();
  });

  it('defaults to 10 in flight (Zoho Standard edition)', async () => {
    const pacer = createPacer();
    const turns = await Promise.all(Array.from({ length: 10 }, () => pacer.acquire()));
    let eleventh = false;
    const waiting = pacer.acquire().then((release) => {
      eleventh = true;
      release();
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(eleventh).toBe(false);
    turns[0]?.();
    await waiting;
    expect(eleventh).toBe(true);
    for (const release of turns.slice(1)) release();
  });

  it('gives up waiting for a turn at the deadline, and the turn is not lost', async () => {
    const pacer = createPacer({ maxInFlight: 1 });
    const held = await pacer.acquire();
    const controller = new AbortController();
    const waiting = pacer.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(ZohoDeadlineError);
    expect(await turnFree(pacer)).toBe(false);
    held();
    expect(await turnFree(pacer)).toBe(true);
  });

  it('caps calls per sliding minute', async () => {
    let clock = 1_000_000;
    const slept: number[] = [];
    const pacer = createPacer({
      maxInFlight: 100,
      callsPerMinute: 3,
      now: () => clock,
      sleep: async (ms) => {
        slept.push(ms);
        clock += ms;
      },
    });
    for (let i = 0; i < 3; i += 1) {
      (await pacer.acquire())();
      clock += 10_000;
    }
    expect(slept).toEqual([]);
    (await pacer.acquire())(); // the first call was at t0; now is t0+30 s: wait 30 s
    expect(slept).toEqual([30_000]);
  });

  it('rejects nonsense limits at creation', () => {
    expect(() => createPacer({ maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => createPacer({ callsPerMinute: 1.5 })).toThrow(/callsPerMinute/);
  });
});
