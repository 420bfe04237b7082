/**
 * The part of undici the client uses (`Agent`, `request`, `errors`, the `Dispatcher` type), taken
 * from undici's own modules rather than its index. The index loads all of undici (fetch, the
 * WebSocket and cache layers, mock agents, proxies): 539 KB of each Lambda bundle against 293 KB
 * for these (BENCHMARKS.md, "Lambda bundle sizes"). The classes are undici's very own, so an
 * `Agent` from `undici` is a dispatcher here too (test/unit/zoho-undici.test.ts checks both).
 * The paths are undici 7's layout (no `exports` map); a release that moves them fails that test.
 */
import type { Dispatcher } from 'undici';
import requestOn from 'undici/lib/api/api-request.js';
import errors from 'undici/lib/core/errors.js';
import util from 'undici/lib/core/util.js';
import Agent from 'undici/lib/dispatcher/agent.js';

export type { Dispatcher };
export { Agent, errors };

/** undici's own `request` options (types/api.d.ts), with the dispatcher required. */
type RequestOptions = { dispatcher: Dispatcher } & Omit<
  Dispatcher.RequestOptions,
  'origin' | 'path' | 'method'
> &
  Partial<Pick<Dispatcher.RequestOptions, 'method'>>;

/**
 * undici's `request(url, options)` as its index builds it (index.js `makeDispatcher`), for the
 * one form the client uses: a URL string and its own dispatcher (no global one).
 */
export function request(url: string, options: RequestOptions): Promise<Dispatcher.ResponseData> {
  const target = util.parseURL(url);
  return requestOn.call(options.dispatcher, {
    ...options,
    origin: target.origin,
    path: target.search ? `${target.pathname}${target.search}` : target.pathname,
    method: options.method ?? (options.body ? 'PUT' : 'GET'),
  });
}
