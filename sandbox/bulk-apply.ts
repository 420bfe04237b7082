/**
 * A bulk write job's rows applied to the sandbox CRM at completion, and the result CSV Zoho hands
 * back (Download Bulk Write Result): the first three mapped columns, STATUS, RECORD_ID, ERRORS.
 */
import { stringify } from 'csv-stringify/sync';
import type { Counts, JobResource, Mapping, Operation } from './bulk-job.ts';
import type { Crm, CrmRecord } from './crm.ts';
import type { FieldType, ModuleSpec } from './modules.ts';

export interface ApplyOptions {
  operation: Operation;
  ignoreEmpty: boolean;
}

/** A child resource's way to its parents: the parent column's value → the record made from that row. */
export type ParentIds = Map<string, string>;

type RowStatus = 'ADDED' | 'UPDATED' | 'SKIPPED';

/** Records by their find_by value, lower-cased (Zoho matches unique fields without case). */
class FindIndex {
  private readonly byKey = new Map<string, CrmRecord[]>();
  private readonly findBy: string | undefined;
  constructor(findBy: string | undefined) {
    this.findBy = findBy;
  }
  static keyOf(value: unknown): string {
    return String(value ?? '')
      .trim()
      .toLowerCase();
  }
  remember(record: CrmRecord): void {
    if (this.findBy === undefined) return;
    const key = FindIndex.keyOf(this.findBy === 'id' ? record.id : record.fields[this.findBy]);
    if (key !== '') this.byKey.set(key, [...(this.byKey.get(key) ?? []), record]);
  }
  matches(key: string): CrmRecord[] {
    return key === '' ? [] : (this.byKey.get(key) ?? []);
  }
}

/**
 * Applies every row of one resource; answers the counts, the result CSV and the record id of each
 * row ('' when skipped). A subform's rows are always added, each under the parent its link column
 * names (⚠ Zoho documents no update of subform rows by bulk write).
 */
export function applyResource(
  resource: JobResource,
  crm: Crm,
  options: ApplyOptions,
  parentIds?: ParentIds,
): { counts: Counts; csv: string; recordIds: string[] } {
  const { module, csv, mappings, findBy } = resource;
  const counts: Counts = { added: 0, updated: 0, skipped: 0, total: csv.rows.length };
  const index = new FindIndex(findBy);
  if (findBy !== undefined) for (const record of crm.records(module.apiName)) index.remember(record);
  const columnOf = (apiName: string) => {
    const mapping = mappings.find((m) => m.api_name === apiName);
    return mapping?.index !== undefined ? (csv.header[mapping.index] ?? apiName) : apiName;
  };
  // The result CSV keeps the first three mapped columns of the upload (Download Bulk Write Result).
  const kept = [...new Set(mappings.map((m) => m.index).filter((i): i is number => i !== undefined))]
    .sort((a, b) => a - b)
    .slice(0, 3);
  const out: string[][] = [[...kept.map((i) => csv.header[i] ?? ''), 'STATUS', 'RECORD_ID', 'ERRORS']];
  const recordIds: string[] = [];
  const rowOptions = parentIds ? { ...options, operation: 'insert' as const } : options;
  const ctx = { module, mappings, findBy, index, crm, options: rowOptions, columnOf, parentIds };
  for (const row of csv.rows) {
    const result = applyRow(row, ctx);
    recordIds.push(result.recordId);
    if (result.status === 'ADDED') counts.added += 1;
    else if (result.status === 'UPDATED') counts.updated += 1;
    else counts.skipped += 1;
    out.push([...kept.map((i) => row[i] ?? ''), result.status, result.recordId, result.errors]);
  }
  return { counts, csv: stringify(out, { record_delimiter: '\r\n' }), recordIds };
}

/** The parent column's value of each row → the record made from it, for the parent's children. */
export function parentIdsOf(resource: JobResource, column: number, recordIds: string[]): ParentIds {
  const ids: ParentIds = new Map();
  resource.csv.rows.forEach((row, i) => {
    const key = (row[column] ?? '').trim();
    if (key !== '' && recordIds[i]) ids.set(key, recordIds[i] as string);
  });
  return ids;
}

interface RowContext {
  module: ModuleSpec;
  mappings: Mapping[];
  findBy: string | undefined;
  index: FindIndex;
  crm: Crm;
  options: ApplyOptions;
  columnOf: (apiName: string) => string;
  parentIds: ParentIds | undefined;
}

function applyRow(row: string[], ctx: RowContext): { status: RowStatus; recordId: string; errors: string } {
  const { module, findBy, index, crm, options } = ctx;
  const errors = new Map<string, string[]>();
  const addError = (code: string, apiName: string) =>
    errors.set(code, [...(errors.get(code) ?? []), ctx.columnOf(apiName)]);
  const values = rowValues(row, ctx.mappings);
  for (const m of ctx.mappings) {
    if (m.parent_column_index === undefined || !ctx.parentIds) continue;
    // The link column holds the parent row's value; the field gets the parent record's id.
    const parentId = ctx.parentIds.get(values.get(m.api_name) ?? '');
    if (parentId) values.set(m.api_name, parentId);
    else {
      values.delete(m.api_name);
      addError('RESOURCE_NOT_FOUND', m.api_name);
    }
  }
  const fields = rowFields(values, module, options.ignoreEmpty, addError);
  const present = (f: string) => fields[f] !== undefined && fields[f] !== null;

  let status: RowStatus = 'SKIPPED';
  let recordId = '';
  const key = findBy === undefined ? '' : FindIndex.keyOf(values.get(findBy));
  const matches = index.matches(key);
  const wantsUpdate =
    options.operation === 'update' || (options.operation === 'upsert' && matches.length > 0);
  if (options.operation === 'update' && key === '' && findBy !== undefined)
    addError('MANDATORY_NOT_FOUND', findBy);
  else if (wantsUpdate && matches.length > 1) addError('DUPLICATE_DATA', findBy ?? 'id');
  else if (options.operation === 'update' && matches.length === 0)
    addError('RESOURCE_NOT_FOUND', findBy ?? 'id');

  if (wantsUpdate) {
    // An update may leave a mandatory field alone, but not empty it.
    for (const f of module.mandatory) if (f in fields && !present(f)) addError('MANDATORY_NOT_FOUND', f);
    const [record] = matches;
    if (errors.size === 0 && record && matches.length === 1) {
      const changes = Object.fromEntries(
        Object.entries(fields).filter(([, v]) => v !== null || !options.ignoreEmpty),
      );
      crm.update(record, changes);
      status = 'UPDATED';
      recordId = record.id;
    }
  } else {
    for (const f of module.mandatory) if (!present(f)) addError('MANDATORY_NOT_FOUND', f);
    if (errors.size === 0) {
      const record = crm.create(
        module,
        Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)),
      );
      index.remember(record);
      status = 'ADDED';
      recordId = record.id;
    }
  }
  // <errorCode>-<column_header>, columns of one code joined by ',', codes by ':' (Download Bulk Write Result).
  const errorText = [...errors].map(([code, columns]) => `${code}-${columns.join(',')}`).join(':');
  return { status, recordId, errors: errorText };
}

/** Each mapped field's raw cell, or its default value when the cell is empty. */
function rowValues(row: string[], mappings: Mapping[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const m of mappings) {
    let raw = m.index === undefined ? '' : (row[m.index] ?? '').trim();
    if (raw === '' && m.default_value?.value !== undefined && m.default_value.value !== null)
      raw = String(m.default_value.value);
    values.set(m.api_name, raw);
  }
  return values;
}

/** The values as the fields' types; an empty cell clears the field unless ignore_empty. */
function rowFields(
  values: Map<string, string>,
  module: ModuleSpec,
  ignoreEmpty: boolean,
  addError: (code: string, apiName: string) => void,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [apiName, raw] of values) {
    if (apiName === 'id') continue;
    if (raw === '') {
      if (!ignoreEmpty) fields[apiName] = null;
      continue;
    }
    const converted = convert(module.fields[apiName] ?? 'text', raw);
    if (converted === INVALID) addError('INVALID_DATA', apiName);
    else fields[apiName] = converted;
  }
  return fields;
}

const INVALID = Symbol('invalid');

/** A CSV cell as the field's type; INVALID_DATA for a value of the wrong shape. */
function convert(type: FieldType, raw: string): unknown {
  switch (type) {
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : INVALID;
    case 'boolean':
      return /^(true|false)$/i.test(raw) ? raw.toLowerCase() === 'true' : INVALID;
    case 'date':
      return /^\d{4}-\d{2}-\d{2}$/.test(raw) && !Number.isNaN(Date.parse(raw)) ? raw : INVALID;
    case 'email':
      return /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(raw) ? raw : INVALID;
    default:
      return raw;
  }
}
