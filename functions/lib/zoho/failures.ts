/**
 * What each layer does with each class of failure, in one table. The layers, innermost first:
 * - the call (call.ts) sends the same request again after a back-off (`resend`; a streamed body
 *   only while not one byte of it was read), replaces a refused access token once (`new-token`),
 *   or throws;
 * - the push (pipeline/push-file.ts, also the bulk ZIP upload) reads the file again and pushes it
 *   again within the same delivery (`again`), looks first for the bytes an earlier attempt may
 *   have landed (`look-first`), or throws;
 * - the queue gives the message back (`redeliver`: thrown, the dead-letter queue in the end) or
 *   records a permanent `failed` outcome (`fail`).
 *
 * An error's `retryable` flag is the queue's column and nothing else. Exactly-once: a request
 * whose outcome is unknown is never re-sent blindly; a push looks for its own bytes first, or
 * pushes only what is harmless twice (a photo replaces the current one, a bulk ZIP upload writes
 * no record: only the job does).
 */

export type FailureClass =
  | 'throttled'
  | 'accounts-throttled'
  | 'server'
  | 'not-sent'
  | 'outcome-unknown'
  | 'deadline'
  | 'token-refused'
  | 'auth'
  | 'not-found'
  | 'refused'
  | 'protocol'
  | 'source'
  | 'other';

export interface FailureHandling {
  call: 'resend' | 'new-token' | 'throw';
  push: 'again' | 'look-first' | 'throw';
  queue: 'redeliver' | 'fail';
  why: string;
}

export const FAILURES: Readonly<Record<FailureClass, FailureHandling>> = {
  throttled: {
    call: 'resend',
    push: 'again',
    queue: 'redeliver',
    // zoho-api.md, Limits: one 429 TOO_MANY_REQUESTS for both; no Retry-After is documented.
    why: "429: over the org's concurrency limit or its credits, Zoho did not do it; back off and send again",
  },
  'accounts-throttled': {
    call: 'throw',
    push: 'again',
    queue: 'redeliver',
    why: 'the accounts server blocks for minutes: surface it, the throttle window stops a refresh storm',
  },
  server: { call: 'resend', push: 'again', queue: 'redeliver', why: '5xx: Zoho did not do it' },
  'not-sent': {
    call: 'resend',
    push: 'again',
    queue: 'redeliver',
    why: 'the connection failed before the first byte went out: nothing reached Zoho',
  },
  'outcome-unknown': {
    call: 'throw',
    push: 'look-first',
    queue: 'redeliver',
    why: 'the connection was lost after the request went out: Zoho may have done it, look before sending again',
  },
  deadline: {
    call: 'throw',
    push: 'throw',
    queue: 'redeliver',
    why: "the caller's deadline ran out: the next delivery has a new one",
  },
  'token-refused': {
    call: 'new-token',
    push: 'throw',
    queue: 'fail',
    why: 'a 401 about the token itself: a new token is minted once; refused again, a person must fix the grant',
  },
  auth: {
    call: 'throw',
    push: 'throw',
    queue: 'fail',
    why: 'the client, secret, refresh token or a scope is wrong: a person must fix it',
  },
  'not-found': {
    call: 'throw',
    push: 'throw',
    queue: 'fail',
    why: 'the module, record or job does not exist',
  },
  refused: {
    call: 'throw',
    push: 'throw',
    queue: 'fail',
    why: 'Zoho, or our own checks, refused the request or the file: sending it again cannot help',
  },
  protocol: {
    call: 'throw',
    push: 'throw',
    queue: 'fail',
    why: 'Zoho answered something that is not its documented contract',
  },
  source: {
    call: 'throw',
    push: 'again',
    queue: 'redeliver',
    why: "the file's stream failed or did not match its size: read it again",
  },
  other: {
    call: 'throw',
    push: 'again',
    queue: 'redeliver',
    why: 'not a failure we know (an S3 hiccup, a bug): try again, the dead-letter queue keeps it in the end',
  },
};
