/**
 * How many Zoho calls this process runs at once, and how many it starts per minute. Zoho counts
 * concurrent calls per org and app (Standard edition: 10; over it, 429), and the legacy upload API
 * allowed 60 calls a minute and then blocked for 5 minutes. Waiting for a turn respects the
 * caller's deadline.
 */
import { deadlineError, realSleep, type Sleep, sleepWithin } from './retry.ts';

/** Zoho Standard edition: 10 concurrent calls per org and app. */
const DEFAULT_MAX_IN_FLIGHT = 10;
const MINUTE_MS = 60_000;

export interface PacerOptions {
  maxInFlight?: number | undefined;
  /** Optional cap on calls started in any sliding 60 s window. */
  callsPerMinute?: number | undefined;
  now?: () => number;
  sleep?: Sleep;
}

/** Gives back the turn; safe to call more than once. */
export type Release = () => void;

export interface Pacer {
  /** Waits for a turn (a slot in flight and room in the minute's window). */
  acquire(signal?: AbortSignal): Promise<Release>;
}

export function createPacer(options: PacerOptions = {}): Pacer {
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const callsPerMinute = options.callsPerMinute;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`maxInFlight must be a whole number ≥ 1, got ${maxInFlight}`);
  }
  if (callsPerMinute !== undefined && (!Number.isInteger(callsPerMinute) || callsPerMinute < 1)) {
    throw new RangeError(`callsPerMinute must be a whole number ≥ 1, got ${callsPerMinute}`);
  }

  let running = 0;
  const waiting: Array<() => void> = [];
  const started: number[] = [];

  function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(deadlineError(signal));
    if (running < maxInFlight) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        running += 1;
        resolve();
      };
      const onAbort = () => {
        const index = waiting.indexOf(grant);
        if (index >= 0) waiting.splice(index, 1);
        reject(deadlineError(signal));
      };
      waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  function giveSlot(): void {
    running -= 1;
    waiting.shift()?.();
  }

  async function waitForWindow(signal: AbortSignal | undefined): Promise<void> {
    if (callsPerMinute === undefined) return;
    for (;;) {
      const at = now();
      while (started.length > 0 && (started[0] ?? 0) <= at - MINUTE_MS) started.shift();
      if (started.length < callsPerMinute) {
        started.push(at);
        return;
      }
      await sleepWithin(sleep, (started[0] ?? at) + MINUTE_MS - at, signal);
    }
  }

  return {
    async acquire(signal) {
      await takeSlot(signal);
      try {
        await waitForWindow(signal);
      } catch (error) {
        giveSlot();
        throw error;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        giveSlot();
      };
    },
  };
}

/** Both turns, the first one first (e.g. the container's own pacer, then a fleet slot). */
export function combinePacers(first: Pacer, second: Pacer | undefined): Pacer {
  if (!second) return first;
  return {
    async acquire(signal) {
      const releaseFirst = await first.acquire(signal);
      try {
        const releaseSecond = await second.acquire(signal);
        return () => {
          releaseSecond();
          releaseFirst();
        };
      } catch (error) {
        releaseFirst();
        throw error;
      }
    },
  };
}
