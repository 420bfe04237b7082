/**
 * What goes into a Zoho URL, checked: module and field API names, ids (digits only), query
 * strings strictly encoded, and the hosts a download URL may point at before our token goes there.
 */
import { ZohoRequestError } from './errors.ts';
import { ZOHO_DOMAINS, type ZohoHosts } from './hosts.ts';
import { type AccessToken, API_NAME, type RecordRef, ZOHO_ID } from './types.ts';

/** `{module}/{recordId}` after checking both: nothing unchecked goes into a URL. */
export function recordPath(target: RecordRef): string {
  return `${segment(apiName('module', target.module))}/${segment(digits('record id', target.recordId))}`;
}

export function apiName(what: string, value: string): string {
  if (typeof value !== 'string' || !API_NAME.test(value)) {
    throw new ZohoRequestError(
      `Invalid ${what} ${JSON.stringify(value)}: an API name is letters, digits and _, starting with a letter`,
    );
  }
  return value;
}

export function digits(what: string, value: string): string {
  if (typeof value !== 'string' || !ZOHO_ID.test(value)) {
    throw new ZohoRequestError(`Invalid ${what} ${JSON.stringify(value)}: Zoho ids are digits only`);
  }
  return value;
}

/** Checked values need no encoding; encoding anyway keeps a future slip harmless. */
export function segment(value: string): string {
  return strictEncode(value);
}

/** encodeURIComponent plus `!'()*`, which it leaves alone. */
export function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function queryString(query: Record<string, string | number> | undefined): string {
  if (!query) return '';
  const pairs = Object.entries(query).map(
    ([key, value]) => `${strictEncode(key)}=${strictEncode(String(value))}`,
  );
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

/** `(Field:equals:value)` with `\`, `(`, `)` and `,` backslash-escaped (Zoho's criteria syntax). */
export function equalsCriteria(field: string, value: string): string {
  return `(${field}:equals:${value.replace(/[\\(),]/g, '\\$&')})`;
}

/** Zoho v8's `equals` can match like "contains": keep only exact matches (emails case-insensitively). */
export function fieldEquals(actual: unknown, expected: string, caseInsensitive: boolean): boolean {
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return false;
  const text = String(actual);
  return caseInsensitive ? text.toLowerCase() === expected.toLowerCase() : text === expected;
}

/** A download URL Zoho gave us, resolved; refused unless it points at our hosts or Zoho's. */
export function trustedDownloadUrl(
  call: string,
  downloadUrl: string,
  token: AccessToken,
  hosts: ZohoHosts,
): string {
  const url = new URL(downloadUrl, `${token.apiDomain}/`);
  const trusted = [token.apiDomain, hosts.apiUrl, hosts.uploadUrl, hosts.accountsUrl].some(
    (base) => new URL(base).origin === url.origin,
  );
  if (!trusted && !(url.protocol === 'https:' && isZohoHost(url.hostname))) {
    throw new ZohoRequestError(
      `${call}: ${url.origin} is not a Zoho host; the access token is not sent there`,
    );
  }
  return url.href;
}

/** A host within one of Zoho's domains (hosts.ts): our access token may go there. */
function isZohoHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  return ZOHO_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}
