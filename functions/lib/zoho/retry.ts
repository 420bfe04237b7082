/**
 * When a failed Zoho call is sent again, as data. A call is re-sent only when Zoho cannot have
 * done it (it answered 429 or 5xx, or nothing left this process) AND the request can be sent
 * again (no body, a buffered body, or a streamed body not one byte of which was read yet).
 * A connection lost after the body started going out is `ZohoOutcomeUnknownError`: never re-sent.
 */
import { isZohoError, ZohoDeadlineError, type ZohoError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Back-off before the 2nd attempt; doubles each time (full jitter: a random wait up to it). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long the accounts server's "Access Denied, too many requests" keeps us from asking again. */
  throttleDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  throttleDelayMs: 10 * 60_000,
};

/** Where the failure happened: getting the access token, or the API call itself. */
export type CallPhase = 'token' | 'call';

export interface RetryRule {
  /** Our error code (`ZohoError.code`). */
  code: string;
  phase?: CallPhase;
  retry: boolean;
  why: string;
}

/** First match wins; an error no rule names is never retried (refusals, auth, protocol, outcome unknown). */
const RETRY_RULES: readonly RetryRule[] = [
  {
    code: 'ZOHO_THROTTLED',
    phase: 'token',
    retry: false,
    why: 'the accounts server blocks for minutes: surface it, the throttle window stops a refresh storm',
  },
  { code: 'ZOHO_THROTTLED', retry: true, why: '429: Zoho did not do it; back off and send again' },
  { code: 'ZOHO_SERVER', retry: true, why: '5xx: Zoho did not do it' },
  { code: 'ZOHO_NETWORK', retry: true, why: 'nothing reached Zoho' },
];

export interface RetryQuestion {
  error: unknown;
  phase: CallPhase;
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** False once a streamed body has been read from: it cannot be replayed. */
  canResend: boolean;
}

export type RetryDecision = { retry: false; why: string } | { retry: true; delayMs: number };

export function decideRetry(
  policy: RetryPolicy,
  question: RetryQuestion,
  random: () => number = Math.random,
): RetryDecision {
  const { error, phase, attempt, canResend } = question;
  if (!isZohoError(error)) return { retry: false, why: 'not a Zoho failure' };
  const rule = RETRY_RULES.find((r) => r.code === error.code && (r.phase === undefined || r.phase === phase));
  if (!rule?.retry) return { retry: false, why: rule?.why ?? `${error.code} is not retried` };
  if (!canResend) return { retry: false, why: 'the streamed body was already read: it cannot be sent again' };
  if (attempt >= policy.maxAttempts) return { retry: false, why: `${policy.maxAttempts} attempts made` };
  return { retry: true, delayMs: backoffDelay(policy, attempt, random) };
}

/** Exponential back-off with full jitter: a random wait in [0, min(max, base * 2^(attempt-1))). */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** A timer that ends early (rejecting) when the signal aborts. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** The caller's deadline, as our error; the failure that was being waited out travels as its cause. */
export function deadlineError(
  signal: AbortSignal | undefined,
  lastError?: ZohoError | unknown,
): ZohoDeadlineError {
  const last = isZohoError(lastError) ? ` (last failure: ${lastError.code} ${lastError.message})` : '';
  return new ZohoDeadlineError(`The caller's deadline ran out before Zoho answered${last}`, {
    cause: lastError ?? signal?.reason,
  });
}

/** Sleeps, or throws the deadline error at once if the signal fires first: never sleeps past the deadline. */
export async function sleepWithin(
  sleep: Sleep,
  ms: number,
  signal: AbortSignal | undefined,
  lastError?: unknown,
): Promise<void> {
  if (signal?.aborted) throw deadlineError(signal, lastError);
  try {
    await sleep(ms, signal);
  } catch (error) {
    if (signal?.aborted) throw deadlineError(signal, lastError);
    throw error;
  }
  if (signal?.aborted) throw deadlineError(signal, lastError);
}
