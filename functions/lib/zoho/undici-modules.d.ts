/**
 * Types for the undici modules functions/lib/zoho/undici.ts imports by path (undici's types
 * describe its index only): each is what the index re-exports under the same name.
 */
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export default Agent;
}

declare module 'undici/lib/core/errors.js' {
  import { errors } from 'undici';
  export default errors;
}

declare module 'undici/lib/core/util.js' {
  /** undici's URL check: a string becomes a URL; a protocol other than http(s) is an InvalidArgumentError. */
  const util: { parseURL(url: string): URL };
  export default util;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  /** `Dispatcher.prototype.request` as the index assigns it: called with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
