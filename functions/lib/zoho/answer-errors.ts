/**
 * The error a Zoho answer holds, if any (answer-data.ts reads what a successful one holds), and
 * its JSON read with large ids kept exact. Errors come in several envelopes and sometimes with HTTP 200, so the
 * body decides, not the status:
 * - flat `{"code","details","message","status":"error"}` (most APIs);
 * - `{"data":[{"code",…,"status":"error"}]}` (attachments, record APIs);
 * - the upload host's `{"ERROR_CODE","ERROR_MESSAGE","x-error"}` (crm-oas v8.0 bulk_write.json,
 *   `Upload File` responses: `x-error` is a body property; an `x-error` header is read too).
 *
 * Mapping (first match):
 * 429 or TOO_MANY_REQUESTS → ZohoThrottledError; 5xx or INTERNAL_ERROR → ZohoServerError;
 * 401 or INVALID_TOKEN / AUTHENTICATION_FAILURE / OAUTH_SCOPE_MISMATCH → ZohoAuthError;
 * a module, URL, record or job that does not exist (INVALID_MODULE, INVALID_URL_PATTERN, 404,
 * RESOURCE_NOT_FOUND, INVALID_DATA about the record id) → ZohoNotFoundError; other 4xx or a 200
 * holding an error → ZohoRequestError; a body that is not Zoho's contract → ZohoProtocolError.
 */
import { isObject } from '../json.ts';
import {
  ZohoAuthError,
  type ZohoError,
  type ZohoErrorFields,
  ZohoNotFoundError,
  ZohoProtocolError,
  ZohoRequestError,
  ZohoServerError,
  ZohoThrottledError,
} from './errors.ts';

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface Fault {
  code: string | undefined;
  message: string | undefined;
  details: unknown;
}

const AUTH_CODES = new Set(['INVALID_TOKEN', 'AUTHENTICATION_FAILURE', 'OAUTH_SCOPE_MISMATCH']);
/** RESOURCE_NOT_FOUND: an unknown bulk write job, HTTP 400 (crm-oas v8.0 bulk_write.json, `Resource_Not_Found`). */
const NOT_FOUND_CODES = new Set([
  'INVALID_MODULE',
  'INVALID_URL_PATTERN',
  'RECORD_NOT_FOUND',
  'RESOURCE_NOT_FOUND',
]);
/** Zoho: INVALID_DATA 400 "the related id given seems to be invalid" (a record id in the URL). */
const BAD_ID_MESSAGE = /\b(related id|record id|id given)\b/i;

/** The answer's JSON, or throws the error it holds. 204 and an empty 2xx body give `undefined`. */
export function parseAnswer(answer: RawAnswer): unknown {
  const { status, text } = answer;
  if (status === 204 || (status < 300 && text.trim() === '')) return undefined;
  const json = parseJson(text);
  const fault = findFault(json, answer.headers);
  if (fault || status >= 400) throw errorFor(status, fault, json === NOT_JSON ? text : undefined);
  if (json === NOT_JSON)
    throw new ZohoProtocolError(`Zoho answered ${status} with a body that is not JSON`, { status });
  return json;
}

const NOT_JSON = Symbol('not json');

/**
 * JSON.parse that keeps integers beyond 2^53 exact, as strings: Zoho's ids are ~19 digits and a
 * number would round them.
 */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text, keepBigIntegers);
  } catch {
    return NOT_JSON;
  }
}

function keepBigIntegers(
  this: unknown,
  _key: string,
  value: unknown,
  context?: { source?: string },
): unknown {
  if (
    typeof value === 'number' &&
    !Number.isSafeInteger(value) &&
    context?.source &&
    /^-?\d+$/.test(context.source)
  ) {
    return context.source;
  }
  return value;
}

export function findFault(json: unknown, headers: RawAnswer['headers'] = {}): Fault | undefined {
  if (isObject(json)) {
    if (json.status === 'error') return faultOf(json);
    if (Array.isArray(json.data)) {
      const failed = json.data.find((item) => isObject(item) && item.status === 'error');
      if (isObject(failed)) return faultOf(failed);
    }
    // The file host's envelope: ERROR_CODE a number (`{"ERROR_CODE":401,...}`), and `x-error`
    // (what to fix) a property of the body (crm-oas v8.0 bulk_write.json, `API_Exception`).
    const said = [json.ERROR_MESSAGE, json['x-error']].map(stringOf).filter((text) => text?.trim());
    if (stringOf(json.ERROR_CODE) !== undefined || said.length > 0) {
      return {
        code: stringOf(json.ERROR_CODE),
        message: said.join(': ') || undefined,
        details: json.details,
      };
    }
  }
  const xError = headerValue(headers, 'x-error');
  if (xError)
    return {
      code: xError.trim(),
      message: isObject(json) ? stringOf(json.message) : undefined,
      details: undefined,
    };
  return undefined;
}

function errorFor(status: number, fault: Fault | undefined, rawText?: string): ZohoError {
  const code = fault?.code;
  const fields: ZohoErrorFields = { zohoCode: code, status, details: fault?.details };
  const said = fault ? `${code ?? 'error'}: ${fault.message ?? '(no message)'}` : describeRaw(rawText);
  const message = `Zoho answered ${status} ${said}`;
  if (status === 429 || code === 'TOO_MANY_REQUESTS') return new ZohoThrottledError(message, fields);
  if (status >= 500 || code === 'INTERNAL_ERROR') return new ZohoServerError(message, fields);
  if (status === 401 || (code && AUTH_CODES.has(code))) return new ZohoAuthError(message, fields);
  if (status === 404 || (code && NOT_FOUND_CODES.has(code)) || isBadRecordId(fault)) {
    return new ZohoNotFoundError(message, fields);
  }
  if (!fault) return new ZohoProtocolError(message, fields);
  return new ZohoRequestError(message, fields);
}

function isBadRecordId(fault: Fault | undefined): boolean {
  if (fault?.code !== 'INVALID_DATA') return false;
  if (BAD_ID_MESSAGE.test(fault.message ?? '')) return true;
  const details = isObject(fault.details) ? fault.details : {};
  return details.api_name === 'id' || details.param_name === 'id' || details.param_name === 'record_id';
}

function describeRaw(text: string | undefined): string {
  if (!text) return 'without a Zoho error body';
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 120);
  return `a body that is not Zoho's JSON: ${JSON.stringify(snippet)}`;
}

function faultOf(item: Record<string, unknown>): Fault {
  return { code: stringOf(item.code), message: stringOf(item.message), details: item.details };
}

export function stringOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return undefined;
}

function headerValue(headers: RawAnswer['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
