/**
 * One class per way a Zoho call can fail. Each carries a stable `code` (ours), its class of
 * failure (failures.ts says what the call, the push and the queue do with it) and Zoho's own
 * answer when there was one (`zohoCode`, `status`, `details`).
 */
import { FAILURES, type FailureClass } from './failures.ts';

export interface ZohoErrorFields {
  /** Zoho's own code, e.g. `INVALID_DATA`, `TOO_MANY_REQUESTS`, `invalid_code`. */
  zohoCode?: string | undefined;
  /** HTTP status of Zoho's answer (200 for errors hidden in a 200 body). */
  status?: number | undefined;
  details?: unknown;
  cause?: unknown;
}

export abstract class ZohoError extends Error {
  abstract readonly code: string;
  abstract readonly failure: FailureClass;
  readonly zohoCode: string | undefined;
  readonly status: number | undefined;
  readonly details: unknown;

  constructor(message: string, fields: ZohoErrorFields = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.zohoCode = fields.zohoCode;
    this.status = fields.status;
    this.details = fields.details;
  }

  /** Another delivery may succeed: the queue gives the message back (failures.ts, the queue's column). */
  get retryable(): boolean {
    return FAILURES[this.failure].queue === 'redeliver';
  }

  /** What goes into a log line, a tag or a DLQ message: never a token or a secret. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      retryable: this.retryable,
      message: this.message,
      zohoCode: this.zohoCode,
      status: this.status,
      details: this.details,
    };
  }
}

/** Zoho refused the request itself (bad module, record, file, permission): sending it again won't help. */
export class ZohoRequestError extends ZohoError {
  readonly code = 'ZOHO_REJECTED';
  readonly failure: FailureClass = 'refused';
}

/** The record or module named does not exist in Zoho (or the key named one that cannot). */
export class ZohoNotFoundError extends ZohoError {
  readonly code = 'ZOHO_NOT_FOUND';
  readonly failure: FailureClass = 'not-found';
}

/** The OAuth client, secret or refresh token is wrong, or the token lacks a scope: a person must fix it. */
export class ZohoAuthError extends ZohoError {
  readonly code = 'ZOHO_AUTH';
  readonly failure: FailureClass = 'auth';
}

/** 429 TOO_MANY_REQUESTS, or the accounts server's "Access Denied, too many requests". */
export class ZohoThrottledError extends ZohoError {
  readonly code = 'ZOHO_THROTTLED';
  readonly failure: FailureClass = 'throttled';
}

/** A 5xx answer: Zoho did not do it, it may next time. */
export class ZohoServerError extends ZohoError {
  readonly code = 'ZOHO_SERVER';
  readonly failure: FailureClass = 'server';
}

/** No connection, or it failed before the request body went out: nothing reached Zoho. */
export class ZohoNetworkError extends ZohoError {
  readonly code = 'ZOHO_NETWORK';
  readonly failure: FailureClass = 'not-sent';
}

/**
 * The connection was lost after the request went out: Zoho may or may not have done it.
 * Never re-send blindly; look first (list the record's attachments, the job list).
 */
export class ZohoOutcomeUnknownError extends ZohoError {
  readonly code = 'ZOHO_OUTCOME_UNKNOWN';
  readonly failure: FailureClass = 'outcome-unknown';
}

/** The caller's deadline (its AbortSignal) ran out before Zoho answered. */
export class ZohoDeadlineError extends ZohoError {
  readonly code = 'ZOHO_DEADLINE';
  readonly failure: FailureClass = 'deadline';
}

/** Zoho answered something that is not its documented contract. */
export class ZohoProtocolError extends ZohoError {
  readonly code = 'ZOHO_PROTOCOL';
  readonly failure: FailureClass = 'protocol';
}

export function isZohoError(error: unknown): error is ZohoError {
  return error instanceof ZohoError;
}
