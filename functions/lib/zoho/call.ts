/**
 * One Zoho call, end to end: take a shared access token, wait for a pacing turn, send once, read
 * the answer, and send again only when Zoho cannot have done it (failures.ts, the call's column).
 * A 401 about the token itself replaces the token once (unless another caller already did) and
 * sends the call once more.
 *
 * Streamed uploads are read once: the call owns the body from the start and disposes of it at
 * the end. A failure after the first byte was read is thrown, never retried here; a token refused
 * during a streamed upload is replaced and a retryable ZohoServerError (code INVALID_TOKEN) says
 * to send the file again.
 */
import type { Log } from '../log.ts';
import { parseAnswer } from './answer-errors.ts';
import type { createTokenProvider } from './auth.ts';
import { isZohoError, type ZohoError, ZohoServerError } from './errors.ts';
import { type Incoming, type Outgoing, type RequestBody, readText, send } from './http.ts';
import type { createPacer } from './pacing.ts';
import {
  type CallPhase,
  deadlineError,
  decideRetry,
  failureClass,
  type RetryPolicy,
  type Sleep,
  sleepWithin,
} from './retry.ts';
import type { AccessToken, CallOptions } from './types.ts';
import type { Dispatcher } from './undici.ts';

export interface CallSpec {
  /** For logs. */
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  url: (token: AccessToken) => string;
  headers?: Record<string, string>;
  body?: RequestBody;
}

/** Reads an answer; `keepTurn` hands the pacing turn over (for a streamed answer). */
export type Reader<T> = (incoming: Incoming, outgoing: Outgoing, keepTurn: () => () => void) => Promise<T>;

export interface CallerParts {
  dispatcher: Dispatcher;
  tokens: ReturnType<typeof createTokenProvider>;
  pacer: ReturnType<typeof createPacer>;
  policy: RetryPolicy;
  log: Log;
  sleep: Sleep;
  random: () => number;
}

export interface Caller {
  /** The call, its answer read by `read`. */
  execute<T>(spec: CallSpec, callOptions: CallOptions | undefined, read: Reader<T>): Promise<T>;
  /** The call, its answer read as Zoho's JSON (errors thrown whatever their envelope). */
  callJson(spec: CallSpec, callOptions: CallOptions | undefined): Promise<unknown>;
}

export function createCaller(parts: CallerParts): Caller {
  const { dispatcher, tokens, pacer, policy, log, sleep, random } = parts;

  async function execute<T>(
    spec: CallSpec,
    callOptions: CallOptions | undefined,
    read: Reader<T>,
  ): Promise<T> {
    const signal = callOptions?.signal;
    let refusedToken: AccessToken | undefined;
    let tokenReplaced = false;
    let lastError: unknown;
    try {
      for (let attempt = 1; ; attempt += 1) {
        if (signal?.aborted) throw deadlineError(signal, lastError);
        let phase: CallPhase = 'token';
        let token: AccessToken | undefined;
        try {
          token = refusedToken ? await tokens.replace(refusedToken, signal) : await tokens.current(signal);
          refusedToken = undefined;
          phase = 'call';
          return await attemptOnce(spec, token, signal, read);
        } catch (error) {
          lastError = error;
          if (token && !tokenReplaced && failureClass(error, phase) === 'token-refused') {
            tokenReplaced = true;
            if (!spec.body || spec.body.canResend()) {
              refusedToken = token;
              attempt -= 1; // a refused token is not one of the call's attempts
              continue;
            }
            await tokens.replace(token, signal).catch(() => undefined);
            throw tokenRefusedMidUpload(spec.name, error as ZohoError);
          }
          const canResend = spec.body ? spec.body.canResend() : true;
          const decision = decideRetry(policy, { error, phase, attempt, canResend }, random);
          if (!decision.retry) throw error;
          log.warn('Zoho call failed; sending it again', {
            call: spec.name,
            attempt,
            delayMs: decision.delayMs,
            error: isZohoError(error) ? error.toJSON() : String(error),
          });
          await sleepWithin(sleep, decision.delayMs, signal, error);
        }
      }
    } finally {
      spec.body?.dispose();
    }
  }

  async function attemptOnce<T>(
    spec: CallSpec,
    token: AccessToken,
    signal: AbortSignal | undefined,
    read: Reader<T>,
  ): Promise<T> {
    const url = spec.url(token);
    const release = await pacer.acquire(signal);
    let turnKept = false;
    try {
      const outgoing: Outgoing = {
        method: spec.method,
        url,
        headers: { ...spec.headers, authorization: `Zoho-oauthtoken ${token.accessToken}` },
        body: spec.body,
        signal,
      };
      const incoming = await send(dispatcher, outgoing);
      return await read(incoming, outgoing, () => {
        turnKept = true;
        return release;
      });
    } finally {
      if (!turnKept) release();
    }
  }

  return { execute, callJson: (spec, callOptions) => execute(spec, callOptions, readJson) };
}

export async function readJson(incoming: Incoming, outgoing: Outgoing): Promise<unknown> {
  const text = await readText(incoming, outgoing);
  return parseAnswer({ status: incoming.status, headers: incoming.headers, text });
}

function tokenRefusedMidUpload(call: string, error: ZohoError): ZohoServerError {
  return new ZohoServerError(
    `${call}: Zoho refused the access token during a streamed upload; a new token is in place, send the file again`,
    {
      zohoCode: error.zohoCode ?? 'INVALID_TOKEN',
      status: error.status,
      details: error.details,
      cause: error,
    },
  );
}
