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

/** The base of one kind of ZohoError: its code and its class of failure. */
function zohoErrorOf<const Code extends string>(code: Code, failure: FailureClass) {
  return class extends ZohoError {
    readonly code = code;
    readonly failure = failure;
  };
}

/** Zoho refused the request itself (bad module, record, file, permission): sending it again won't help. */
export class ZohoRequestError extends zohoErrorOf('ZOHO_REJECTED', 'refused') {}

/** The record or module named does not exist in Zoho (or the key named one that cannot). */
export class ZohoNotFoundError extends zohoErrorOf('ZOHO_NOT_FOUND', 'not-found') {}

/** The OAuth client, secret or refresh token is wrong, or the token lacks a scope: a person must fix it. */
export class ZohoAuthError extends zohoErrorOf('ZOHO_AUTH', 'auth') {}

/** 429 TOO_MANY_REQUESTS, or the accounts server's "Access Denied, too many requests". */
export class ZohoThrottledError extends zohoErrorOf('ZOHO_THROTTLED', 'throttled') {}

/** A 5xx answer: Zoho did not do it, it may next time. */
export class ZohoServerError extends zohoErrorOf('ZOHO_SERVER', 'server') {}

/** No connection, or it failed before the request body went out: nothing reached Zoho. */
export class ZohoNetworkError extends zohoErrorOf('ZOHO_NETWORK', 'not-sent') {}

/**
 * The connection was lost after the request went out: Zoho may or may not have done it.
 * Never re-send blindly; look first (list the record's attachments, the job list).
 */
export class ZohoOutcomeUnknownError extends zohoErrorOf('ZOHO_OUTCOME_UNKNOWN', 'outcome-unknown') {}

/** The caller's deadline (its AbortSignal) ran out before Zoho answered. */
export class ZohoDeadlineError extends zohoErrorOf('ZOHO_DEADLINE', 'deadline') {}

/** Zoho answered something that is not its documented contract. */
export class ZohoProtocolError extends zohoErrorOf('ZOHO_PROTOCOL', 'protocol') {}

export function isZohoError(error: unknown): error is ZohoError {
  return error instanceof ZohoError;
}
