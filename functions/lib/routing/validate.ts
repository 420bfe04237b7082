/**
 * What a value taken from a key must look like before it can get anywhere near a URL. Each check
 * answers undefined when the value is fine, else what was expected (to finish a sentence).
 */
import { API_NAME, BULK_OPERATIONS, type BulkOperation, ZOHO_ID } from '#zoho/types.ts';

const EXTENSION = /^[A-Za-z0-9]{1,16}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
const CONTROL = /[\u0000-\u001f\u007f]/;
/** S3's longest key. */
const MAX_KEY_BYTES = 1024;
/** Zoho: module and field API names. */
const MAX_API_NAME = 100;
const MAX_FILE_NAME_BYTES = 255;
const MAX_LOOKUP_VALUE = 255;

/** A module or field API name: `Leads`, `My_Module__c`. */
export function checkApiName(name: string): string | undefined {
  if (name.length > MAX_API_NAME) return `at most ${MAX_API_NAME} characters`;
  if (!API_NAME.test(name)) return 'an API name: a letter, then letters, digits or _';
  return undefined;
}

export function checkRecordId(id: string): string | undefined {
  return ZOHO_ID.test(id) ? undefined : 'a Zoho record id: 1 to 30 digits, e.g. 4876876000000624001';
}

export function checkOperation(operation: string): operation is BulkOperation {
  return (BULK_OPERATIONS as readonly string[]).includes(operation);
}

export function checkExtension(ext: string): string | undefined {
  return EXTENSION.test(ext) ? undefined : 'a file extension of 1 to 16 letters or digits';
}

/** The name Zoho records for the file: one key segment, sent in a multipart header, never in a path. */
export function checkFileName(name: string): string | undefined {
  if (name === '') return 'a non-empty file name';
  if (name === '.' || name === '..') return 'a file name other than . or ..';
  if (CONTROL.test(name)) return 'a file name without control characters';
  if (name.includes('/') || name.includes('\\')) return 'a file name without / or \\';
  if (Buffer.byteLength(name, 'utf8') > MAX_FILE_NAME_BYTES)
    return `a file name of at most ${MAX_FILE_NAME_BYTES} bytes (UTF-8)`;
  return undefined;
}

/** A lookup value: it travels in a query string (encoded by the client), never in a path. */
export function checkLookupValue(value: string): string | undefined {
  if (value === '') return 'a non-empty value';
  if (value.length > MAX_LOOKUP_VALUE) return `a value of at most ${MAX_LOOKUP_VALUE} characters`;
  if (CONTROL.test(value)) return 'a value without control characters';
  return undefined;
}

/**
 * The key as a whole: no way to smuggle a path segment. The key is already decoded; what is left
 * encoded (`%2F`) would turn into a separator if anything decoded it a second time.
 */
export function checkKey(key: string): string | undefined {
  if (key === '') return 'the key is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `the key is longer than ${MAX_KEY_BYTES} bytes`;
  if (CONTROL.test(key)) return 'the key holds a control character';
  if (key.includes('\\')) return 'the key holds a backslash';
  if (/%(2f|5c)/i.test(key)) return 'the key holds an encoded slash or backslash (%2F, %5C) after decoding';
  if (key.startsWith('/')) return 'the key starts with /';
  if (key.endsWith('/')) return 'the key ends with /';
  const segments = key.split('/');
  if (segments.includes('')) return 'the key holds an empty segment (//)';
  if (segments.some((s) => s === '.' || s === '..')) return 'the key holds a . or .. segment';
  return undefined;
}
