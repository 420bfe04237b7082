import { describe, expect, it } from 'vitest';
import {
  ZohoAuthError,
  ZohoDeadlineError,
  ZohoNetworkError,
  ZohoOutcomeUnknownError,
  ZohoProtocolError,
  ZohoRequestError,
  ZohoServerError,
  ZohoThrottledError,
} from '#zoho/errors.ts';
import { FAILURES } from '#zoho/failures.ts';
import { BodySourceError } from '#zoho/http.ts';
import {
  DEFAULT_RETRY_POLICY,
  decidePushRetry,
  decideRetry,
  failureClass,
  pushRetryPolicy,
  sleepWithin,
} from '#zoho/retry.ts';

const policy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, throttleDelayMs: 60_000 };
const ask = (
  error: unknown,
  more: Partial<{ phase: 'token' | 'call'; attempt: number; canResend: boolean }> = {},
) => decideRetry(policy, { error, phase: 'call', attempt: 1, canResend: true, ...more }, () => 0.5);

describe('retry policy', () => {
  it.each([
    ['429', new ZohoThrottledError('x'), true],
    ['5xx', new ZohoServerError('x'), true],
    ['nothing sent', new ZohoNetworkError('x'), true],
    ['outcome unknown', new ZohoOutcomeUnknownError('x'), false],
    ['deadline', new ZohoDeadlineError('x'), false],
    ['auth', new ZohoAuthError('x'), false],
    ['refused', new ZohoRequestError('x'), false],
    ['protocol', new ZohoProtocolError('x'), false],
    ['a plain error', new Error('x'), false],
  ])('%s → retry %s', (_name, error, retry) => {
    expect(ask(error).retry).toBe(retry);
  });

  it('never re-sends a streamed body that was already read, even on a 429 or 5xx', () => {
    expect(ask(new ZohoThrottledError('x'), { canResend: false }).retry).toBe(false);
    expect(ask(new ZohoServerError('x'), { canResend: false }).retry).toBe(false);
  });

  it('surfaces an accounts-server throttle at once: it lasts minutes', () => {
    expect(ask(new ZohoThrottledError('x'), { phase: 'token' }).retry).toBe(false);
    expect(ask(new ZohoNetworkError('x'), { phase: 'token' }).retry).toBe(true);
  });

  it('stops at maxAttempts', () => {
    expect(ask(new ZohoServerError('x'), { attempt: 3 }).retry).toBe(true);
    expect(ask(new ZohoServerError('x'), { attempt: 4 })).toEqual({ retry: false, why: '4 attempts made' });
  });

  it('backs off exponentially with full jitter, capped', () => {
    const wait = (attempt: number, random: number) =>
      decideRetry(
        { ...policy, maxAttempts: 20 },
        { error: new ZohoServerError('x'), phase: 'call', attempt, canResend: true },
        () => random,
      );
    expect(wait(1, 0.999)).toEqual({ retry: true, delayMs: 99 });
    expect(wait(3, 0.999)).toEqual({ retry: true, delayMs: 399 });
    expect(wait(10, 0.999)).toEqual({ retry: true, delayMs: 999 });
    expect(wait(3, 0)).toEqual({ retry: true, delayMs: 0 });
    expect(ask(new ZohoServerError('x'), { attempt: 2 })).toEqual({ retry: true, delayMs: 100 });
  });

  it('has sane defaults', () => {
    expect(DEFAULT_RETRY_POLICY.throttleDelayMs).toBe(10 * 60_000); // Zoho's minting window
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBeGreaterThan(1);
  });

  it('never sleeps past the deadline: the abort ends the wait with the last failure as cause', async () => {
    const controller = new AbortController();
    const last = new ZohoServerError('boom');
    const sleeping = sleepWithin(
      (_ms, signal) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
      60_000,
      controller.signal,
      last,
    );
    controller.abort();
    const error = await sleeping.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoDeadlineError);
    expect((error as Error).cause).toBe(last);
    expect((error as Error).message).toContain('ZOHO_SERVER');
  });

  it('refuses to start a wait when the deadline has already passed', async () => {
    let slept = false;
    const error = await sleepWithin(
      async () => {
        slept = true;
      },
      10,
      AbortSignal.abort(),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ZohoDeadlineError);
    expect(slept).toBe(false);
  });
});

describe('one table for the call, the push and the queue', () => {
  const push = (error: unknown, attempt = 1) =>
    decidePushRetry(pushRetryPolicy(100), { error, attempt }, () => 0);
  class OwnRefusal extends Error {
    readonly code = 'FILE_TOO_LARGE';
    readonly retryable = false;
  }

  it.each([
    ['429', new ZohoThrottledError('x'), 'throttled', { retry: true, delayMs: 10, lookFirst: false }],
    ['5xx', new ZohoServerError('x'), 'server', { retry: true, delayMs: 10, lookFirst: false }],
    ['nothing sent', new ZohoNetworkError('x'), 'not-sent', { retry: true, delayMs: 10, lookFirst: false }],
    [
      'outcome unknown',
      new ZohoOutcomeUnknownError('x'),
      'outcome-unknown',
      { retry: true, delayMs: 10, lookFirst: true },
    ],
    ['the file stream', new BodySourceError('x'), 'source', { retry: true, delayMs: 10, lookFirst: false }],
    ['an S3 hiccup', new Error('x'), 'other', { retry: true, delayMs: 10, lookFirst: false }],
    ['deadline', new ZohoDeadlineError('x'), 'deadline', { retry: false }],
    ['auth', new ZohoAuthError('x'), 'auth', { retry: false }],
    ['refused', new ZohoRequestError('x'), 'refused', { retry: false }],
    ['our own refusal', new OwnRefusal('x'), 'refused', { retry: false }],
    ['protocol', new ZohoProtocolError('x'), 'protocol', { retry: false }],
  ])('%s: class %s, the push decides %o', (_name, error, failure, decision) => {
    expect(failureClass(error)).toBe(failure);
    expect(push(error)).toEqual(decision);
  });

  it('the push stops at its attempts; the queue then takes over', () => {
    expect(push(new ZohoServerError('x'), 3).retry).toBe(true);
    expect(push(new ZohoServerError('x'), 4).retry).toBe(false);
  });

  it("a Zoho error's `retryable` is the queue's column and nothing else", () => {
    for (const error of [
      new ZohoThrottledError('x'),
      new ZohoServerError('x'),
      new ZohoNetworkError('x'),
      new ZohoOutcomeUnknownError('x'),
      new ZohoDeadlineError('x'),
      new ZohoAuthError('x'),
      new ZohoRequestError('x'),
      new ZohoProtocolError('x'),
    ]) {
      expect(error.retryable).toBe(FAILURES[error.failure].queue === 'redeliver');
    }
    expect(new ZohoOutcomeUnknownError('x').retryable).toBe(true);
    expect(FAILURES['outcome-unknown'].call).toBe('throw');
  });

  it('tells a 401 about the token from one about what it may do', () => {
    expect(failureClass(new ZohoAuthError('x', { status: 401, zohoCode: 'INVALID_TOKEN' }))).toBe(
      'token-refused',
    );
    expect(failureClass(new ZohoAuthError('x', { status: 401, zohoCode: 'OAUTH_SCOPE_MISMATCH' }))).toBe(
      'auth',
    );
    expect(failureClass(new ZohoAuthError('x', { status: 401 }), 'token')).toBe('auth');
  });
});
