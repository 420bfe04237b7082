/**
 * Bulk-write job options a person can set: in a `job.json` at the top of the ZIP, or in the
 * object's metadata (`x-amz-meta-zoho-find-by`, `…-zoho-ignore-empty`, `…-zoho-field-mappings`).
 * Metadata overrides job.json key by key. Both are checked strictly: an unknown key or a wrong
 * type is refused with a message naming it, never ignored. The keys are Zoho's own (crm-oas v8.0
 * bulk_write.json) and go into the job as they are: the job's own keys into the job, the rest into
 * the parent CSV's resource (`placeJobOptions`).
 */
import { isObject } from '#lib/json.ts';
import {
  API_NAME,
  type BulkWriteJobSpec,
  type BulkWriteResource,
  type DefaultValue,
  type FieldMapping,
} from '#zoho/types.ts';
import { InspectionError } from './errors.ts';

/** A child CSV of a parent-child import (seed 003): a subform or linking module of the parent. */
export interface ChildResource {
  /** The CSV's name at the top of the ZIP. */
  file: string;
  /** The child module's API name (e.g. the subform's). */
  module: string;
  /** Mandatory for parent-child imports; one mapping names `parent_column_index`. */
  field_mappings: FieldMapping[];
}

/** The options of the job itself. */
type JobLevelOptions = Pick<BulkWriteJobSpec, 'ignore_empty'>;
/** The options of the parent CSV's resource. */
type ResourceOptions = Pick<BulkWriteResource, 'find_by' | 'field_mappings'>;

export interface JobOptions extends JobLevelOptions, ResourceOptions {
  /** Child CSVs in the same ZIP, written in the same job as the parent's. */
  children?: ChildResource[];
}

/** Where each option goes in Zoho's job: the job's own keys, the parent CSV's resource, the children. */
export function placeJobOptions(options: JobOptions): {
  job: JobLevelOptions;
  resource: ResourceOptions;
  children: ChildResource[];
} {
  const { children = [], ignore_empty, ...resource } = options;
  return { job: ignore_empty === undefined ? {} : { ignore_empty }, resource, children };
}

const JOB_KEYS = ['find_by', 'field_mappings', 'ignore_empty', 'children'];
const MAPPING_KEYS = [
  'api_name',
  'index',
  'format',
  'find_by',
  'default_value',
  'module',
  'parent_column_index',
];
const DEFAULT_VALUE_KEYS = ['name', 'module', 'value'];
const MAX_DEFAULT_VALUE_LENGTH = 1000;
const CHILD_KEYS = ['file', 'module', 'field_mappings'];
/** Zoho: at most 10 files per resource, 100 resources per job; a parent with 9 children is plenty. */
const MAX_CHILDREN = 9;
const MAX_FORMAT_LENGTH = 100;

type Refuse = (problem: string) => InspectionError;

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'string'
    ? `the text ${JSON.stringify(value)}`
    : `${typeof value} ${JSON.stringify(value)}`;
}

function checkKeys(value: Record<string, unknown>, allowed: string[], where: string, refuse: Refuse): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw refuse(`${where} has an unknown key "${key}" (allowed: ${allowed.join(', ')})`);
    }
  }
}

function apiName(value: unknown, where: string, refuse: Refuse): string {
  if (typeof value !== 'string' || !API_NAME.test(value)) {
    throw refuse(
      `${where} must be a field API name such as "Last_Name" (letters, digits, underscores), not ${describe(value)}`,
    );
  }
  return value;
}

function fieldMappings(value: unknown, where: string, refuse: Refuse): FieldMapping[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw refuse(
      `${where} must be a non-empty list of {"api_name", "index"} objects, not ${describe(value)}`,
    );
  }
  const seen = new Set<string>();
  return value.map((item: unknown, position) => {
    const at = `${where}[${position}]`;
    if (!isObject(item)) throw refuse(`${at} must be an object, not ${describe(item)}`);
    checkKeys(item, MAPPING_KEYS, at, refuse);
    const mapping: FieldMapping = { api_name: apiName(item.api_name, `${at}.api_name`, refuse) };
    if (seen.has(mapping.api_name)) throw refuse(`${at} maps "${mapping.api_name}" a second time`);
    seen.add(mapping.api_name);
    if (item.index !== undefined) {
      if (typeof item.index !== 'number' || !Number.isSafeInteger(item.index) || item.index < 0) {
        throw refuse(`${at}.index must be a column number (0 or more), not ${describe(item.index)}`);
      }
      mapping.index = item.index;
    }
    if (item.format !== undefined) {
      if (
        typeof item.format !== 'string' ||
        item.format.trim() === '' ||
        item.format.length > MAX_FORMAT_LENGTH
      ) {
        throw refuse(
          `${at}.format must be a non-empty text of at most ${MAX_FORMAT_LENGTH} characters, not ${describe(item.format)}`,
        );
      }
      mapping.format = item.format;
    }
    if (item.find_by !== undefined) mapping.find_by = apiName(item.find_by, `${at}.find_by`, refuse);
    if (item.module !== undefined) mapping.module = apiName(item.module, `${at}.module`, refuse);
    if (item.default_value !== undefined) {
      mapping.default_value = defaultValue(item.default_value, `${at}.default_value`, refuse);
    } else if (item.index === undefined) {
      throw refuse(`${at} needs an "index" (its CSV column) or a "default_value"`);
    }
    if (item.parent_column_index !== undefined) {
      const column = item.parent_column_index;
      if (typeof column !== 'number' || !Number.isSafeInteger(column) || column < 0) {
        throw refuse(
          `${at}.parent_column_index must be a column number (0 or more), not ${describe(column)}`,
        );
      }
      mapping.parent_column_index = column;
    }
    return mapping;
  });
}

function defaultValue(value: unknown, where: string, refuse: Refuse): DefaultValue {
  if (!isObject(value))
    throw refuse(`${where} must be an object such as {"value": "Web"}, not ${describe(value)}`);
  checkKeys(value, DEFAULT_VALUE_KEYS, where, refuse);
  const result: DefaultValue = {};
  if (value.name !== undefined) {
    if (typeof value.name !== 'string' || value.name.trim() === '') {
      throw refuse(`${where}.name must be a non-empty text, not ${describe(value.name)}`);
    }
    result.name = value.name;
  }
  if (value.module !== undefined) result.module = apiName(value.module, `${where}.module`, refuse);
  if (value.value !== undefined) {
    const text = JSON.stringify(value.value);
    if (value.value === null || text.length > MAX_DEFAULT_VALUE_LENGTH) {
      throw refuse(
        `${where}.value must be a value of at most ${MAX_DEFAULT_VALUE_LENGTH} characters as JSON, not ${describe(value.value)}`,
      );
    }
    result.value = value.value;
  }
  if (Object.keys(result).length === 0) throw refuse(`${where} must name a "value" or a "name"`);
  return result;
}

function children(value: unknown, refuse: Refuse): ChildResource[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_CHILDREN) {
    throw refuse(
      `children must be a list of 1 to ${MAX_CHILDREN} {"file", "module", "field_mappings"} objects, not ${describe(value)}`,
    );
  }
  return value.map((item: unknown, position) => {
    const at = `children[${position}]`;
    if (!isObject(item)) throw refuse(`${at} must be an object, not ${describe(item)}`);
    checkKeys(item, CHILD_KEYS, at, refuse);
    if (typeof item.file !== 'string' || !/^[^/\\]+\.csv$/i.test(item.file)) {
      throw refuse(`${at}.file must name a .csv file at the top of the ZIP, not ${describe(item.file)}`);
    }
    const mappings = fieldMappings(item.field_mappings, `${at}.field_mappings`, refuse);
    if (!mappings.some((m) => m.parent_column_index !== undefined)) {
      throw refuse(`${at}.field_mappings must link to the parent: one mapping needs "parent_column_index"`);
    }
    return {
      file: item.file,
      module: apiName(item.module, `${at}.module`, refuse),
      field_mappings: mappings,
    };
  });
}

function ignoreEmpty(value: unknown, where: string, refuse: Refuse): boolean {
  if (typeof value !== 'boolean') throw refuse(`${where} must be true or false, not ${describe(value)}`);
  return value;
}

/** `value` is job.json once parsed. */
function validateJobOptions(value: unknown, refuse: Refuse = refuseJobJson): JobOptions {
  if (!isObject(value)) throw refuse(`it must be a JSON object, not ${describe(value)}`);
  checkKeys(value, JOB_KEYS, 'it', refuse);
  const options: JobOptions = {};
  if (value.find_by !== undefined) options.find_by = apiName(value.find_by, 'find_by', refuse);
  if (value.field_mappings !== undefined)
    options.field_mappings = fieldMappings(value.field_mappings, 'field_mappings', refuse);
  if (value.ignore_empty !== undefined)
    options.ignore_empty = ignoreEmpty(value.ignore_empty, 'ignore_empty', refuse);
  if (value.children !== undefined) {
    options.children = children(value.children, refuse);
    if (!options.field_mappings)
      throw refuse('a parent-child import needs field_mappings for the parent CSV too');
  }
  return options;
}

function refuseJobJson(problem: string): InspectionError {
  return new InspectionError('INVALID_JOB_JSON', `job.json in the ZIP is invalid: ${problem}.`, { problem });
}

function refuseMetadata(problem: string): InspectionError {
  return new InspectionError('INVALID_JOB_METADATA', `The object's metadata is invalid: ${problem}.`, {
    problem,
  });
}

export function parseJobJson(text: string): JobOptions {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw refuseJobJson(`it is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return validateJobOptions(value);
}

const META_FIND_BY = 'zoho-find-by';
const META_IGNORE_EMPTY = 'zoho-ignore-empty';
const META_FIELD_MAPPINGS = 'zoho-field-mappings';

/**
 * S3 user metadata as GetObject/HeadObject return it (keys without `x-amz-meta-`, lower case);
 * the prefixed form is accepted too. Other keys are left alone: they belong to routing.
 */
export function parseJobOptionsFromMetadata(metadata: Record<string, string>): JobOptions {
  const values = new Map<string, string>();
  for (const [key, value] of Object.entries(metadata))
    values.set(key.toLowerCase().replace(/^x-amz-meta-/, ''), value);
  const options: JobOptions = {};
  const findBy = values.get(META_FIND_BY);
  if (findBy !== undefined)
    options.find_by = apiName(findBy.trim(), `x-amz-meta-${META_FIND_BY}`, refuseMetadata);
  const ignore = values.get(META_IGNORE_EMPTY);
  if (ignore !== undefined) {
    const text = ignore.trim().toLowerCase();
    if (text !== 'true' && text !== 'false') {
      throw refuseMetadata(
        `x-amz-meta-${META_IGNORE_EMPTY} must be "true" or "false", not ${JSON.stringify(ignore)}`,
      );
    }
    options.ignore_empty = text === 'true';
  }
  const mappings = values.get(META_FIELD_MAPPINGS);
  if (mappings !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(mappings);
    } catch (error) {
      throw refuseMetadata(
        `x-amz-meta-${META_FIELD_MAPPINGS} is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    options.field_mappings = fieldMappings(parsed, `x-amz-meta-${META_FIELD_MAPPINGS}`, refuseMetadata);
  }
  return options;
}

/** Key by key: a key set in `override` replaces the same key of `base` whole (field_mappings too). */
export function mergeJobOptions(base: JobOptions, override: JobOptions): JobOptions {
  return { ...base, ...override };
}

/** Every mapped column must exist in the CSV. */
export function checkMappingsFitColumns(
  options: JobOptions,
  columns: number,
  refuse: Refuse,
  where = 'field_mappings',
): void {
  for (const [position, mapping] of (options.field_mappings ?? []).entries()) {
    if (mapping.index !== undefined && mapping.index >= columns) {
      throw refuse(
        `${where}[${position}] maps "${mapping.api_name}" to column ${mapping.index}, but the CSV has ${columns} columns (0 to ${columns - 1})`,
      );
    }
  }
}

export { refuseJobJson, refuseMetadata };
