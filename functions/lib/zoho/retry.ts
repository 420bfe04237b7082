/**
 * When a failed Zoho call is sent again, and when a push tries again: the decisions failures.ts's
 * table makes, with the back-off they wait. A call is re-sent only when its class says so (Zoho
 * cannot have done it) AND the request can be sent again (no body, a buffered body, or a streamed
 * body not one byte of which was read yet). A push tries again from the source, within its
 * attempts and the deadline.
 */

import { isZohoError, ZohoAuthError, ZohoDeadlineError, type ZohoError } from './errors.ts';
import { FAILURES, type FailureClass, type FailureHandling } from './failures.ts';
import { BodySourceError } from './http.ts';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Back-off before the 2nd attempt; doubles each time (full jitter: a random wait up to it). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long the accounts server's "Access Denied, too many requests" keeps us from asking again. */
  throttleDelayMs: number;
}

/** The call's policy. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  throttleDelayMs: 10 * 60_000,
};

/** The push's policy: attempts of one upload within one delivery (after them the queue takes over). */
export function pushRetryPolicy(baseDelayMs: number): RetryPolicy {
  return { maxAttempts: 4, baseDelayMs, maxDelayMs: baseDelayMs * 8, throttleDelayMs: 0 };
}

/** Where the failure happened: getting the access token, or the API call itself. */
export type CallPhase = 'token' | 'call';

/** 401s that are about what the token may do, not about the token: a new token would not help. */
const NOT_THE_TOKEN = new Set(['OAUTH_SCOPE_MISMATCH', 'NO_PERMISSION', 'AUTHORIZATION_FAILED']);

/** The class of a failure (failures.ts): our own refusals keep their `retryable` flag. */
export function failureClass(error: unknown, phase: CallPhase = 'call'): FailureClass {
  if (isZohoError(error)) {
    if (error.failure === 'throttled' && phase === 'token') return 'accounts-throttled';
    if (phase === 'call' && isTokenRefused(error)) return 'token-refused';
    return error.failure;
  }
  if (error instanceof BodySourceError) return 'source';
  const { code, retryable } = (error ?? {}) as { code?: unknown; retryable?: unknown };
  return error instanceof Error && typeof code === 'string' && retryable === false ? 'refused' : 'other';
}

export function failureHandling(error: unknown, phase: CallPhase = 'call'): FailureHandling {
  return FAILURES[failureClass(error, phase)];
}

/**
 * A 401 that is not a scope or permission refusal: INVALID_TOKEN, AUTHENTICATION_FAILURE (the API
 * host answers it for a revoked token too), the file host's `{"ERROR_CODE":401}`, a bare 401.
 */
function isTokenRefused(error: ZohoError): boolean {
  return error instanceof ZohoAuthError && error.status === 401 && !NOT_THE_TOKEN.has(error.zohoCode ?? '');
}

export interface RetryQuestion {
  error: unknown;
  phase: CallPhase;
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** False once a streamed body has been read from: it cannot be replayed. */
  canResend: boolean;
}

export type RetryDecision = { retry: false; why: string } | { retry: true; delayMs: number };

/** The call's decision: send the same request again, after how long. */
export function decideRetry(
  policy: RetryPolicy,
  question: RetryQuestion,
  random: () => number = Math.random,
): RetryDecision {
  const { error, phase, attempt, canResend } = question;
  if (!isZohoError(error)) return { retry: false, why: 'not a Zoho failure' };
  const handling = failureHandling(error, phase);
  if (handling.call !== 'resend') return { retry: false, why: handling.why };
  if (!canResend) return { retry: false, why: 'the streamed body was already read: it cannot be sent again' };
  if (attempt >= policy.maxAttempts) return { retry: false, why: `${policy.maxAttempts} attempts made` };
  return { retry: true, delayMs: backoffDelay(policy, attempt, random) };
}

/** `lookFirst`: an earlier attempt may have landed, look for it before pushing again. */
export type PushRetryDecision = { retry: false } | { retry: true; delayMs: number; lookFirst: boolean };

/** The push's decision: push the file again from its source, after how long, looking first or not. */
export function decidePushRetry(
  policy: RetryPolicy,
  question: { error: unknown; attempt: number },
  random: () => number = Math.random,
): PushRetryDecision {
  const { push } = failureHandling(question.error);
  if (push === 'throw' || question.attempt >= policy.maxAttempts) return { retry: false };
  // At least a tenth of the ceiling: a retry right away would meet the same 429.
  const delayMs = Math.max(backoffDelay(policy, question.attempt, random), policy.baseDelayMs / 10);
  return { retry: true, delayMs, lookFirst: push === 'look-first' };
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
