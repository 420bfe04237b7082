/**
 * The sandbox's own clock: real time plus an offset that tests move forward, so token expiry,
 * minting windows, grant codes and bulk job progress can be crossed without waiting.
 */
export interface Clock {
  now(): number;
  advance(ms: number): void;
}

export function createClock(onAdvance: () => void = () => {}): Clock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`The clock only moves forward (got ${ms} ms)`);
      offset += ms;
      onAdvance();
    },
  };
}

/** Zoho's time format: ISO 8601 to the second with a numeric offset, e.g. `2021-05-05T05:33:33+00:00`. */
export function zohoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/**
 * Zoho ids are ~19 digits, beyond a JS number: kept as strings, counted as bigints. One counter
 * serves records, attachments, files and jobs so every id is unique and stable across runs.
 */
export function createIdGenerator(first: bigint): () => string {
  let next = first;
  return () => {
    const id = next;
    next += 1n;
    return id.toString();
  };
}
