/**
 * How many parts of one bulk import are handled at once (uploads, result downloads), and the pool
 * that keeps the part uploads to that number.
 */

/** At most `limit` tasks at once: `add` waits for a free slot (backpressure), `drain` for all and their first error. */
export function createPool(limit: number) {
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  return {
    async add(task: () => Promise<void>): Promise<void> {
      while (running.size >= limit) await Promise.race(running);
      if (failure) throw failure.error;
      const promise: Promise<void> = task()
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    async drain(): Promise<void> {
      await Promise.all(running);
      if (failure) throw failure.error;
    },
  };
}

/** Parts of one import handled at once: the client's in-flight budget, and at most 8 (files in /tmp). */
export function partsAtOnce(maxInFlight: number): number {
  return Math.max(1, Math.min(maxInFlight, 8));
}
