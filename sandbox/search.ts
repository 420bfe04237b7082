/**
 * Search Records (zoho-api.md, Search): `criteria`, `email`, `phone` or `word`; 204 when nothing
 * matches. In `criteria`, `(`, `)` and `,` inside a value are escaped with a backslash; an
 * unescaped comma separates values (any may match). ⚠ v8 quirk reproduced: `equals` on a text
 * field matches like a case-insensitive "contains", so clients must re-check exact matches.
 */

import type { Route, SandboxParts } from './context.ts';
import type { CrmRecord } from './crm.ts';
import { expectedParamMissing, json, noContent, ZohoFailure } from './http.ts';
import type { FieldType, ModuleSpec } from './modules.ts';
import { pageParams } from './paging.ts';

export type Criteria =
  | { kind: 'condition'; field: string; operator: string; values: string[] }
  | { kind: 'and' | 'or'; items: Criteria[] };

const OPERATORS = new Set([
  'equals',
  'not_equal',
  'starts_with',
  'in',
  'greater_than',
  'greater_equal',
  'less_than',
  'less_equal',
]);

/** Deeper groups are refused as INVALID_QUERY (instead of overflowing the parser's stack into a 500). */
const MAX_NESTING = 32;

/**
 * crm-oas v8.0 module_search.json `InvalidQuery_NoReason`: `details.api_name` is required, with
 * `param_name`. ⚠ Criteria that do not parse name no field: the parameter's name stands in.
 */
const invalidQuery = (reason: string, details: Record<string, unknown> = {}) =>
  new ZohoFailure(400, 'INVALID_QUERY', 'invalid query formed', {
    reason,
    api_name: 'criteria',
    param_name: 'criteria',
    ...details,
  });

/** Parses `(A:equals:x)`, `((A:equals:x)and(B:starts_with:y))`, … (URL-decoded already). */
function parseCriteria(text: string): Criteria {
  let at = 0;
  let depth = 0;
  const skipSpaces = () => {
    while (text[at] === ' ') at += 1;
  };
  const expect = (char: string) => {
    skipSpaces();
    if (text[at] !== char) throw invalidQuery(`expected '${char}' at position ${at}`);
    at += 1;
  };

  const group = (): Criteria => {
    expect('(');
    skipSpaces();
    if (text[at] === '(') {
      depth += 1;
      if (depth > MAX_NESTING) throw invalidQuery(`the criteria nest more than ${MAX_NESTING} groups deep`);
      const inner = expression();
      expect(')');
      depth -= 1;
      return inner;
    }
    return condition();
  };

  const expression = (): Criteria => {
    let left = group();
    for (;;) {
      skipSpaces();
      const joiner = /^(and|or)\b/i.exec(text.slice(at))?.[1]?.toLowerCase() as 'and' | 'or' | undefined;
      if (!joiner) return left;
      at += joiner.length;
      const right = group();
      left =
        left.kind === joiner
          ? { kind: joiner, items: [...left.items, right] }
          : { kind: joiner, items: [left, right] };
    }
  };

  // field:operator:value up to the first unescaped ')'; the value keeps its escapes until split.
  const condition = (): Criteria => {
    const start = at;
    while (at < text.length && text[at] !== ')') at += text[at] === '\\' ? 2 : 1;
    if (at >= text.length) throw invalidQuery('a condition is not closed with )');
    const raw = text.slice(start, at);
    at += 1;
    const first = raw.indexOf(':');
    const second = raw.indexOf(':', first + 1);
    if (first <= 0 || second < 0) throw invalidQuery('a condition is not field:operator:value');
    const field = raw.slice(0, first).trim();
    const operator = raw
      .slice(first + 1, second)
      .trim()
      .toLowerCase();
    if (!OPERATORS.has(operator)) throw invalidQuery('invalid operator found', { api_name: field, operator });
    return { kind: 'condition', field, operator, values: splitValues(raw.slice(second + 1)) };
  };

  const result = expression();
  skipSpaces();
  if (at !== text.length) throw invalidQuery(`unexpected text at position ${at}`);
  return result;
}

/** Splits on unescaped commas, then drops the escapes (`\(` → `(`, `\,` → `,`, `\\` → `\`). */
function splitValues(raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i += 1) {
    const char = raw[i];
    if (char === '\\' && i + 1 < raw.length) {
      current += raw[i + 1];
      i += 1;
    } else if (char === ',') {
      values.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  values.push(current);
  return values.map((v) => v.trim());
}

const TEXT_TYPES = new Set<FieldType>(['text', 'email', 'phone', 'lookup']);
const SYSTEM_FIELDS = new Set(['id', 'Created_Time', 'Modified_Time']);

function fieldText(record: CrmRecord, field: string): string {
  if (field === 'id') return record.id;
  const value = record.fields[field];
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return String((value as { name?: unknown }).name ?? '');
  return String(value);
}

function matcher(
  module: ModuleSpec,
  criteria: Criteria,
  options: { equalsIsContains: boolean },
): (record: CrmRecord) => boolean {
  if (criteria.kind !== 'condition') {
    const parts = criteria.items.map((c) => matcher(module, c, options));
    return criteria.kind === 'and' ? (r) => parts.every((p) => p(r)) : (r) => parts.some((p) => p(r));
  }
  const { field, operator, values } = criteria;
  const type = module.fields[field];
  if (!type && !SYSTEM_FIELDS.has(field)) {
    throw invalidQuery('the field is not available for search', { api_name: field });
  }
  const wanted = values.map((v) => v.toLowerCase());
  const textual = type !== undefined && TEXT_TYPES.has(type);
  const compare = (a: string, b: string) => {
    const numbers = [Number(a), Number(b)];
    return type === 'number' && a !== '' && numbers.every(Number.isFinite)
      ? (numbers[0] ?? 0) - (numbers[1] ?? 0)
      : a.localeCompare(b);
  };
  return (record) => {
    const value = fieldText(record, field).toLowerCase();
    switch (operator) {
      case 'equals':
        return wanted.some((w) => (options.equalsIsContains && textual ? value.includes(w) : value === w));
      case 'not_equal':
        return wanted.every((w) => value !== w);
      case 'in':
        return wanted.includes(value);
      case 'starts_with':
        return wanted.some((w) => value.startsWith(w));
      case 'greater_than':
        return compare(value, wanted[0] ?? '') > 0;
      case 'greater_equal':
        return compare(value, wanted[0] ?? '') >= 0;
      case 'less_than':
        return compare(value, wanted[0] ?? '') < 0;
      default:
        return compare(value, wanted[0] ?? '') <= 0;
    }
  };
}

const digits = (text: string) => text.replace(/\D/g, '');

export function searchRoutes(parts: SandboxParts, options: { equalsIsContains: boolean }): Route[] {
  const { crm } = parts;
  return [
    {
      host: 'api',
      pattern: /^\/crm\/(?<v>v[2-8](?:\.\d)?)\/(?<module>[^/]+)\/search$/,
      methods: {
        async GET(ctx) {
          const module = crm.requireModule(ctx.params.module ?? '');
          const { query } = ctx;
          const fieldsOf = (types: FieldType[]) =>
            Object.keys(module.fields).filter((f) => types.includes(module.fields[f] as FieldType));
          let match: (record: CrmRecord) => boolean;
          const criteria = query.get('criteria');
          const email = query.get('email');
          const phone = query.get('phone');
          const word = query.get('word');
          if (criteria) {
            match = matcher(module, parseCriteria(criteria), {
              equalsIsContains: options.equalsIsContains && ctx.version >= 8,
            });
          } else if (email) {
            const emailFields = fieldsOf(['email']);
            match = (r) =>
              emailFields.some((f) => fieldText(r, f).toLowerCase() === email.trim().toLowerCase());
          } else if (phone) {
            const phoneFields = fieldsOf(['phone']);
            match = (r) =>
              phoneFields.some(
                (f) => digits(fieldText(r, f)) !== '' && digits(fieldText(r, f)) === digits(phone),
              );
          } else if (word) {
            const textFields = fieldsOf(['text', 'email', 'phone']);
            match = (r) =>
              textFields.some((f) => fieldText(r, f).toLowerCase().includes(word.trim().toLowerCase()));
          } else {
            throw expectedParamMissing(['criteria', 'email', 'phone', 'word']);
          }
          const { page, perPage } = pageParams(query);
          const all = crm.records(module.apiName).filter(match);
          const slice = all.slice((page - 1) * perPage, page * perPage);
          if (slice.length === 0) return noContent();
          return json(200, {
            data: slice.map((r) => crm.view(r)),
            info: { per_page: perPage, count: slice.length, page, more_records: all.length > page * perPage },
          });
        },
      },
    },
  ];
}
