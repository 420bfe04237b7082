/**
 * What happened to one object, and how that is told: tags on the object (the ledger a person
 * reads), a log line, metrics. Permanent failures end here; retryable ones are thrown instead,
 * so the queue retries them and, in the end, dead-letters them.
 */
import { isZohoError } from '#zoho/errors.ts';
import { failureHandling } from '#zoho/retry.ts';
import { tagsOf } from './outcome-tags.ts';

export type OutcomeStatus = 'done' | 'failed' | 'skipped' | 'pushing';

export interface Outcome {
  status: OutcomeStatus;
  /** Zoho's id of what was made: attachment id, bulk job ids. */
  zohoId?: string;
  /** A stable code a person can act on: `FILE_TOO_LARGE`, `RECORD_LOCKED`, `LOOKUP_NO_MATCH`… */
  code?: string;
  /** One sentence saying what was wrong and what to do. */
  reason?: string;
  /** Extra tags (outcome-tags.ts `tagsOf`), e.g. bulk counts (`zoho-added`). */
  tags?: Record<string, string>;
}

/** A refusal of our own, before or after talking to Zoho. */
export class PipelineError extends Error {
  readonly code: string;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

interface CodedError {
  code: string;
  retryable: boolean;
  message: string;
}

function isCodedError(error: unknown): error is CodedError & Error {
  return (
    error instanceof Error &&
    typeof (error as Partial<CodedError>).code === 'string' &&
    typeof (error as Partial<CodedError>).retryable === 'boolean'
  );
}

/**
 * Retryable errors go back to the queue; everything else is a permanent outcome (the queue's
 * column of #zoho/failures.ts: an error we did not anticipate, an S3 hiccup or a bug, is retried
 * and the DLQ keeps it in the end).
 */
export function isRetryable(error: unknown): boolean {
  return failureHandling(error).queue === 'redeliver';
}

/** The outcome of a permanent failure: Zoho's own code wins, it is the one a CRM admin knows. */
export function failedOutcome(error: unknown): Outcome {
  if (isZohoError(error)) {
    return { status: 'failed', code: error.zohoCode ?? error.code, reason: error.message };
  }
  if (isCodedError(error)) return { status: 'failed', code: error.code, reason: error.message };
  return {
    status: 'failed',
    code: 'INTERNAL',
    reason: error instanceof Error ? error.message : String(error),
  };
}

/** The tags that say an outcome on the object. */
export function outcomeTags(outcome: Outcome, at: Date): Record<string, string> {
  const { status, zohoId, code, reason } = outcome;
  const said = { zohoId: zohoId || undefined, code: code || undefined, reason: reason || undefined };
  return { ...tagsOf({ status, at: at.toISOString(), ...said }), ...outcome.tags };
}
