/**
 * The create-job request of bulk write (zoho-api.md, Bulk write; crm-oas v8.0 bulk_write.yaml):
 * every check Zoho makes before it accepts a job, each answered with Zoho's code and JSON path.
 */
import { CSV_MAX_BYTES, type CsvFile, MAX_COLUMNS, MAX_ROWS, readCsvFromZip } from './bulk-zip.ts';
import type { Crm } from './crm.ts';
import { invalidData, ZohoFailure } from './http.ts';
import type { ModuleSpec } from './modules.ts';

export type Operation = 'insert' | 'update' | 'upsert';

export interface BulkFile {
  id: string;
  fileName: string;
  path: string;
  size: number;
  sha256: string;
  createdAt: number;
}

export interface Mapping {
  api_name: string;
  index?: number;
  format?: string;
  find_by?: string;
  default_value?: { value?: unknown };
  /** A child's column that names its parent: the parent CSV's column at this index holds the same value. */
  parent_column_index?: number;
}

export interface Counts {
  added: number;
  updated: number;
  skipped: number;
  total: number;
}

export interface JobResource {
  module: ModuleSpec;
  fileId: string;
  csv: CsvFile;
  mappings: Mapping[];
  findBy: string | undefined;
  counts?: Counts;
}

export interface JobRequest {
  operation: Operation;
  ignoreEmpty: boolean;
  callback: { url: string; method: string } | undefined;
  resources: JobResource[];
}

/** A 400 on the create-job call, with the JSON path Zoho reports. */
export const jobError = (code: string, message: string, details: Record<string, unknown>) =>
  new ZohoFailure(400, code, message, details);
const mandatoryNotFound = (apiName: string, jsonPath: string) =>
  jobError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: apiName, json_path: jsonPath });

const asRecord = (value: unknown) =>
  (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;

/** The body of `POST /crm/bulk/{v}/write`, checked as Zoho checks it. */
export async function checkJobRequest(
  body: unknown,
  crm: Crm,
  files: ReadonlyMap<string, BulkFile>,
): Promise<JobRequest> {
  const request = asRecord(body);
  const operation = request.operation;
  if (operation === undefined) throw mandatoryNotFound('operation', '$.operation');
  if (operation !== 'insert' && operation !== 'update' && operation !== 'upsert') {
    throw invalidData('invalid data', { api_name: 'operation', json_path: '$.operation' });
  }
  const callback = request.callback as { url?: unknown; method?: unknown } | undefined;
  if (
    callback !== undefined &&
    (typeof callback?.url !== 'string' || !/^https?:\/\/\S+$/.test(callback.url))
  ) {
    throw invalidData('invalid data', { api_name: 'url', json_path: '$.callback.url' });
  }
  const resourceList = request.resource;
  if (!Array.isArray(resourceList) || resourceList.length === 0)
    throw mandatoryNotFound('resource', '$.resource');
  const resources: JobResource[] = [];
  for (const [index, raw] of resourceList.entries()) {
    resources.push(await checkResource(asRecord(raw), `$.resource[${index}]`, operation, crm, files));
  }
  checkFamilies(resources);
  return {
    operation,
    ignoreEmpty: request.ignore_empty === true,
    callback: callback ? { url: String(callback.url), method: String(callback.method ?? 'post') } : undefined,
    resources,
  };
}

async function checkResource(
  resource: Record<string, unknown>,
  path: string,
  operation: Operation,
  crm: Crm,
  files: ReadonlyMap<string, BulkFile>,
): Promise<JobResource> {
  if (resource.type === undefined) throw mandatoryNotFound('type', `${path}.type`);
  if (resource.type !== 'data')
    throw invalidData('invalid data', { api_name: 'type', json_path: `${path}.type` });
  const moduleName = (resource.module as { api_name?: unknown } | undefined)?.api_name;
  if (typeof moduleName !== 'string') throw mandatoryNotFound('module', `${path}.module`);
  const module = crm.module(moduleName);
  // crm-oas v8.0 bulk_write.json API_Exception: an unknown module is MODULE_NOT_AVAILABLE, not INVALID_MODULE.
  if (!module?.bulk) {
    throw jobError('MODULE_NOT_AVAILABLE', `Requested module '${moduleName}' is not available.`, {
      api_name: 'module',
      json_path: `${path}.module`,
    });
  }
  const fileId = resource.file_id;
  if (fileId === undefined) throw mandatoryNotFound('file_id', `${path}.file_id`);
  const file = files.get(String(fileId));
  if (!file)
    throw jobError('INVALID_FILE_ID', 'invalid file id', {
      api_name: 'file_id',
      json_path: `${path}.file_id`,
    });

  const { csv, several } = await readResourceCsv(file, path, resource.file_names);
  // Seed 003: parent-child imports (several CSVs in one ZIP) need field mappings.
  if (several && !Array.isArray(resource.field_mappings))
    throw mandatoryNotFound('field_mappings', `${path}.field_mappings`);
  const mappings = Array.isArray(resource.field_mappings)
    ? checkMappings(resource.field_mappings as unknown[], module, csv, path)
    : mappingsFromHeader(module, csv, path);
  const findBy = checkFindBy(resource, operation, module, mappings, path);
  if (operation !== 'update') {
    const mapped = new Set(mappings.map((m) => m.api_name));
    const missing = module.mandatory.filter((f) => !mapped.has(f));
    if (missing.length > 0) {
      throw jobError('MANDATORY_FIELDS_NOT_MAPPED', 'mandatory fields are not mapped', {
        api_names: missing,
        json_path: `${path}.field_mappings`,
      });
    }
  }
  return { module, fileId: file.id, csv, mappings, findBy };
}

/**
 * The resource's CSV: the one `file_names` names (crm-oas bulk_write.yaml), or the ZIP's only
 * one, within Zoho's limits (and the sandbox's own on unzipped bytes).
 */
async function readResourceCsv(
  file: BulkFile,
  path: string,
  fileNames: unknown,
): Promise<{ csv: CsvFile; several: boolean }> {
  const at = { api_name: 'file_id', json_path: `${path}.file_id` };
  const fileError = (message: string) => invalidData(message, at);
  // ⚠ Zoho documents no code for an unreadable ZIP, one without CSV or with several; INVALID_DATA names the file.
  if (fileNames !== undefined && (!Array.isArray(fileNames) || typeof fileNames[0] !== 'string')) {
    throw invalidData('invalid data', { api_name: 'file_names', json_path: `${path}.file_names` });
  }
  const name = (fileNames as string[] | undefined)?.[0];
  const { csvNames, csv, csvBytes } = await readCsvFromZip(file.path, name).catch((error: Error) => {
    throw fileError(`the zip file cannot be read: ${error.message}`);
  });
  if (csvBytes > CSV_MAX_BYTES) {
    // ⚠ The sandbox's own cap (bulk-zip.ts), answered like Zoho's CSV limits.
    throw jobError('LIMIT_EXCEEDED', 'the CSV file is larger than the sandbox can hold', {
      limit: CSV_MAX_BYTES,
      ...at,
    });
  }
  if (name !== undefined && !csvNames.includes(name)) {
    throw invalidData('the file name given is not in the zip file', {
      api_name: 'file_names',
      json_path: `${path}.file_names`,
    });
  }
  if (!csv) throw fileError('the zip file holds no CSV file');
  // Bulk write limitations: one CSV per module; several only for parent-child, each named in file_names.
  if (csvNames.length > 1 && name === undefined)
    throw fileError('the zip file holds several CSV files: name each resource’s in file_names');
  if (csv.header.length > MAX_COLUMNS) {
    throw jobError('LIMIT_EXCEEDED', 'the CSV file has more columns than allowed', {
      limit: MAX_COLUMNS,
      ...at,
    });
  }
  if (csv.tooManyRows) {
    throw jobError('LIMIT_EXCEEDED', 'the CSV file has more records than allowed', {
      limit: MAX_ROWS,
      ...at,
    });
  }
  return { csv, several: csvNames.length > 1 };
}

/**
 * A subform's resource rides with its parent module's, from the same upload, and one of its
 * mappings names the parent column (`parent_column_index`) its rows point at.
 */
function checkFamilies(resources: JobResource[]): void {
  for (const [index, child] of resources.entries()) {
    const parentModule = child.module.subformOf;
    if (parentModule === undefined) continue;
    const path = `$.resource[${index}]`;
    const parent = resources.find((r) => r.module.apiName === parentModule && r.fileId === child.fileId);
    if (!parent) {
      // ⚠ Zoho documents no code for a subform sent without its parent; INVALID_DATA names the module.
      throw invalidData('a subform is written with its parent module, in one job', {
        api_name: 'module',
        json_path: `${path}.module`,
      });
    }
    const link = child.mappings.find((m) => m.parent_column_index !== undefined);
    if (!link) throw mandatoryNotFound('parent_column_index', `${path}.field_mappings`);
    const column = link.parent_column_index as number;
    if (!Number.isInteger(column) || column < 0 || column >= parent.csv.header.length) {
      throw jobError('COLUMN_INDEX_NOT_FOUND', 'the column index given is not found in the file', {
        index: column,
        json_path: `${path}.field_mappings`,
      });
    }
  }
}

/** `find_by`: required for update unless `id` is mapped; upsert falls back on the first unique field mapped. */
function checkFindBy(
  resource: Record<string, unknown>,
  operation: Operation,
  module: ModuleSpec,
  mappings: Mapping[],
  path: string,
): string | undefined {
  const mapped = new Set(mappings.map((m) => m.api_name));
  let findBy = typeof resource.find_by === 'string' ? resource.find_by : undefined;
  if (operation === 'update' && findBy === undefined) {
    if (!mapped.has('id')) throw mandatoryNotFound('find_by', `${path}.find_by`);
    findBy = 'id';
  }
  if (operation === 'upsert' && findBy === undefined) findBy = module.uniqueFields.find((f) => mapped.has(f));
  if (findBy === undefined) return undefined;
  if (findBy !== 'id' && !module.fields[findBy]) {
    throw jobError('INVALID_FIELD_NAME', 'invalid field name', {
      api_name: findBy,
      json_path: `${path}.find_by`,
    });
  }
  // find_by names a unique field or the record id.
  if (findBy !== 'id' && !module.uniqueFields.includes(findBy)) {
    throw invalidData('the find_by field is not a unique field', {
      api_name: findBy,
      json_path: `${path}.find_by`,
    });
  }
  if (!mapped.has(findBy)) {
    throw jobError('MANDATORY_FIELDS_NOT_MAPPED', 'the find_by field is not mapped', {
      api_names: [findBy],
      json_path: `${path}.find_by`,
    });
  }
  return findBy;
}

const knownField = (module: ModuleSpec, name: string) => name === 'id' || module.fields[name] !== undefined;

function checkMappings(list: unknown[], module: ModuleSpec, csv: CsvFile, path: string): Mapping[] {
  return list.map((raw, i) => {
    const mapping = asRecord(raw) as unknown as Mapping;
    const at = `${path}.field_mappings[${i}]`;
    if (typeof mapping.api_name !== 'string') throw mandatoryNotFound('api_name', `${at}.api_name`);
    if (!knownField(module, mapping.api_name)) {
      throw jobError('INVALID_FIELD_NAME', 'invalid field name', {
        api_name: mapping.api_name,
        json_path: `${at}.api_name`,
      });
    }
    if (mapping.index === undefined) {
      if (mapping.default_value === undefined) throw mandatoryNotFound('index', `${at}.index`);
    } else if (!Number.isInteger(mapping.index) || mapping.index < 0 || mapping.index >= csv.header.length) {
      throw jobError('COLUMN_INDEX_NOT_FOUND', 'the column index given is not found in the file', {
        index: mapping.index,
        json_path: `${at}.index`,
      });
    }
    return mapping;
  });
}

// ⚠ zoho-api.md: without field_mappings the CSV header names are taken as field API names.
function mappingsFromHeader(module: ModuleSpec, csv: CsvFile, path: string): Mapping[] {
  return csv.header.map((column, index) => {
    // A lookup may be given by one of its fields, e.g. `Account_Name.id`.
    const [base = '', sub] = column.split('.', 2);
    const apiName = sub !== undefined && module.fields[base] === 'lookup' ? base : column;
    if (!knownField(module, apiName)) {
      throw jobError('INVALID_FIELD_NAME', 'invalid field name', {
        api_name: column,
        json_path: `${path}.field_mappings`,
      });
    }
    return { api_name: apiName, index };
  });
}
