/**
 * Fault injection for the API, upload and download hosts. Random faults draw from a seeded PRNG,
 * so a test that sets `seed` sees the same sequence on every run.
 */

export interface FailNext {
  status: number;
  code: string;
  /** How many matching requests fail (default 1). */
  times?: number;
  /** Only requests whose path (with query) contains this string or matches this pattern. */
  path?: RegExp | string;
  message?: string;
}

/**
 * How the upload host answers its own errors. zoho-api.md: "this host may answer errors with
 * HTTP 200, and in another envelope (ERROR_CODE, ERROR_MESSAGE, x-error)"; seed 003 documents
 * HTTP 400 and the flat envelope. ⚠ sources disagree, so all three are available.
 */
export type UploadErrorStyle = 'flat-200' | 'legacy-200' | 'flat-400';

export interface Faults {
  /** Share of requests answered 500 INTERNAL_ERROR, 0..1. */
  rate500: number;
  /** Share of requests answered 429 TOO_MANY_REQUESTS, 0..1. */
  rate429: number;
  /** Delay before each request is handled. */
  latencyMs: number;
  failNext: FailNext[];
  /** The next N uploads: read part of the body, then destroy the socket; nothing is stored. */
  resetDuringUpload: number;
  /** The next N uploads: store them, then destroy the socket without answering. */
  dropResponseAfterUpload: number;
  /** The next N bulk write jobs created end FAILED (ADDED → IN PROGRESS → FAILED): no row applied, no result. */
  failBulkJobs: number;
  /** Token answers carry `expires_in` in milliseconds plus `expires_in_sec`, as some accounts do. */
  tokenExpiresInMs: boolean;
  uploadErrorStyle: UploadErrorStyle;
  seed?: number;
}

export interface FaultState {
  current(): Faults;
  set(faults: Partial<Faults>): void;
  reset(): void;
  /** The injected failure for this request, if any (failNext first, then the random rates). */
  failureFor(path: string): { status: number; code: string; message: string } | undefined;
  takeResetDuringUpload(): boolean;
  takeDropResponseAfterUpload(): boolean;
  takeFailBulkJob(): boolean;
}

const MESSAGES: Record<string, string> = {
  TOO_MANY_REQUESTS: 'Too many requests. Please try again after some time.',
  INTERNAL_ERROR: 'Internal Server Error',
};

export function createFaultState(defaults: {
  tokenExpiresInMs: boolean;
  uploadErrorStyle: UploadErrorStyle;
}): FaultState {
  const initial = (): Faults => ({
    rate500: 0,
    rate429: 0,
    latencyMs: 0,
    failNext: [],
    resetDuringUpload: 0,
    dropResponseAfterUpload: 0,
    failBulkJobs: 0,
    tokenExpiresInMs: defaults.tokenExpiresInMs,
    uploadErrorStyle: defaults.uploadErrorStyle,
  });
  let faults = initial();
  let random = mulberry32(1);

  return {
    current: () => ({ ...faults, failNext: faults.failNext.map((f) => ({ ...f })) }),
    set(changes) {
      const next = { ...faults, ...withoutUndefined(changes) };
      for (const rate of ['rate500', 'rate429'] as const) {
        if (!(next[rate] >= 0 && next[rate] <= 1)) throw new RangeError(`${rate} must be between 0 and 1`);
      }
      if (!(Number.isFinite(next.latencyMs) && next.latencyMs >= 0))
        throw new RangeError('latencyMs must be 0 or more');
      for (const count of COUNTS) {
        if (!(Number.isInteger(next[count]) && next[count] >= 0))
          throw new RangeError(`${count} must be a whole number, 0 or more`);
      }
      next.failNext = (changes.failNext ?? faults.failNext).map(checkFailNext);
      faults = next;
      if (changes.seed !== undefined) random = mulberry32(changes.seed);
    },
    reset() {
      faults = initial();
      random = mulberry32(1);
    },
    failureFor(path) {
      const index = faults.failNext.findIndex((f) => matches(f.path, path));
      const planned = faults.failNext[index];
      if (planned) {
        planned.times = (planned.times ?? 1) - 1;
        if (planned.times <= 0) faults.failNext.splice(index, 1);
        return {
          status: planned.status,
          code: planned.code,
          message: planned.message ?? MESSAGES[planned.code] ?? 'fault injected by the sandbox',
        };
      }
      // Both draws happen on every request so one rate does not shift the other's sequence.
      const draw500 = random();
      const draw429 = random();
      if (draw500 < faults.rate500)
        return { status: 500, code: 'INTERNAL_ERROR', message: MESSAGES.INTERNAL_ERROR ?? '' };
      if (draw429 < faults.rate429) {
        return { status: 429, code: 'TOO_MANY_REQUESTS', message: MESSAGES.TOO_MANY_REQUESTS ?? '' };
      }
      return undefined;
    },
    takeResetDuringUpload: () => take('resetDuringUpload'),
    takeDropResponseAfterUpload: () => take('dropResponseAfterUpload'),
    takeFailBulkJob: () => take('failBulkJobs'),
  };

  function take(counter: (typeof COUNTS)[number]): boolean {
    if (faults[counter] <= 0) return false;
    faults[counter] -= 1;
    return true;
  }
}

const COUNTS = ['resetDuringUpload', 'dropResponseAfterUpload', 'failBulkJobs'] as const;

/** A planned failure must be answerable: a status (200 too: Zoho sends some errors with 200) and a code. */
function checkFailNext(f: FailNext): FailNext {
  if (typeof f !== 'object' || f === null) throw new TypeError('failNext entries must be objects');
  if (!(Number.isInteger(f.status) && f.status >= 200 && f.status <= 599))
    throw new RangeError(`failNext status must be an HTTP status from 200 to 599, got ${String(f.status)}`);
  if (typeof f.code !== 'string' || f.code === '') throw new TypeError('failNext code must be a string');
  const times = f.times ?? 1;
  if (!(Number.isInteger(times) && times >= 1)) throw new RangeError('failNext times must be 1 or more');
  return { ...f, times };
}

function matches(pattern: RegExp | string | undefined, path: string): boolean {
  if (pattern === undefined) return true;
  return typeof pattern === 'string' ? path.includes(pattern) : pattern.test(path);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A small seeded PRNG (mulberry32): deterministic fault sequences, not cryptography. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
