/**
 * Each request the sandbox answered and its answer, handed to whoever observes them: the test
 * suite checks every one against Zoho's OpenAPI documents (test/spec/). Observers are
 * process-wide, so every sandbox a test starts is seen; with none registered nothing is kept.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HostKind } from './context.ts';

export interface Exchange {
  host: HostKind;
  method: string;
  /** The path on its host, the host's prefix taken off: `/crm/v8/Leads/1/Attachments`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** A body that is not multipart, as far as it was read (at most BODY_CAPTURE_BYTES). */
  body: Buffer | undefined;
  /** The names of a multipart body's parts, in order. */
  formFields: string[];
  /** The OAuth scopes the sandbox asked of the token (sandbox/scopes.ts); none before the token was checked. */
  scopes: string[];
  status: number;
  responseHeaders: Record<string, string | number>;
  /** A JSON answer's body; undefined for bytes and for an empty answer. */
  responseJson: unknown;
  /** The answer was bytes (a download), not JSON. */
  binary: boolean;
}

export type ExchangeObserver = (exchange: Exchange) => void;

/** How much of a JSON or form body is kept for the observers. */
export const BODY_CAPTURE_BYTES = 1024 * 1024;

const observers = new Set<ExchangeObserver>();

/** Calls `observer` with every exchange of every sandbox in this process; returns the way to stop. */
export function observeExchanges(observer: ExchangeObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export function exchangesObserved(): boolean {
  return observers.size > 0;
}

/** An observer's failure is its own: the answer still goes out. */
export function reportExchange(exchange: Exchange): void {
  for (const observer of observers) {
    try {
      observer(exchange);
    } catch (error) {
      console.error(`A sandbox exchange observer failed: ${(error as Error).message}`);
    }
  }
}
