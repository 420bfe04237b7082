/**
 * Bulk write (zoho-api.md, Bulk write; seed 003): the ZIP upload on the upload host, the job on
 * the API host, its ADDED → IN PROGRESS → COMPLETED life on the sandbox clock, the rows really
 * applied at completion, and the result ZIP (STATUS, RECORD_ID, ERRORS per row) for download.
 */
import { rm } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import {
  CSV_MAX_BYTES,
  type CsvFile,
  isZip,
  MAX_COLUMNS,
  MAX_ROWS,
  readCsvFromZip,
  zipBuffer,
} from './bulk-zip.ts';
import { zohoTime } from './clock.ts';
import type { RequestContext, Route, SandboxParts } from './context.ts';
import { bodyOf, drain, receiveForm } from './context.ts';
import { type CrmRecord, SANDBOX_USER } from './crm.ts';
import type { UploadErrorStyle } from './faults.ts';
import {
  headerValue,
  invalidData,
  invalidModule,
  invalidUrl,
  json,
  type Reply,
  readSmallBody,
  requiredParamMissing,
  ZohoFailure,
} from './http.ts';
import type { FieldType, ModuleSpec } from './modules.ts';

/** Zoho: the uploaded ZIP is at most 25 MB. */
export const ZIP_MAX_BYTES = 25 * 1024 * 1024;

type Operation = 'insert' | 'update' | 'upsert';

interface BulkFile {
  id: string;
  fileName: string;
  path: string;
  size: number;
  sha256: string;
  createdAt: number;
}

interface Mapping {
  api_name: string;
  index?: number;
  format?: string;
  find_by?: string;
  default_value?: { value?: unknown };
}

interface Counts {
  added: number;
  updated: number;
  skipped: number;
  total: number;
}

interface JobResource {
  module: ModuleSpec;
  fileId: string;
  csv: CsvFile;
  mappings: Mapping[];
  findBy: string | undefined;
  counts?: Counts;
  resultCsv?: string;
}

interface Job {
  id: string;
  operation: Operation;
  ignoreEmpty: boolean;
  callback: { url: string; method: string } | undefined;
  createdAt: number;
  resources: JobResource[];
  completed: boolean;
  /** Fault `failBulkJobs`: the job ends FAILED instead of COMPLETED. */
  fails: boolean;
  resultZip?: Promise<Buffer>;
}

type JobStatus = 'ADDED' | 'IN PROGRESS' | 'COMPLETED' | 'FAILED';

const user = { id: SANDBOX_USER.id, name: SANDBOX_USER.name };
const V = '(?<v>v[2-8](?:\\.\\d)?)';

/** A 400 on the create-job call, with the JSON path Zoho reports. */
const jobError = (code: string, message: string, details: Record<string, unknown>) =>
  new ZohoFailure(400, code, message, details);
const mandatoryNotFound = (apiName: string, jsonPath: string) =>
  jobError('MANDATORY_NOT_FOUND', 'required field not found', { api_name: apiName, json_path: jsonPath });

function styled(failure: ZohoFailure, style: UploadErrorStyle): Reply {
  if (style === 'flat-400') return json(failure.status, failure.body);
  if (style === 'flat-200') return json(200, failure.body);
  return json(200, { ERROR_CODE: failure.code, ERROR_MESSAGE: failure.message }, { 'x-error': failure.code });
}

export function bulkRoutes(parts: SandboxParts, options: { stepMs: number }) {
  const { clock, crm, nextId, urls, org, faults } = parts;
  const files = new Map<string, BulkFile>();
  const jobs = new Map<string, Job>();

  async function upload(ctx: RequestContext): Promise<Reply> {
    try {
      const feature = headerValue(ctx.req, 'feature');
      if (!feature) throw requiredParamMissing('feature');
      if (feature.trim().toLowerCase() !== 'bulk-write')
        throw invalidData('invalid data', { param_name: 'feature' });
      const orgHeader = headerValue(ctx.req, 'x-crm-org');
      if (!orgHeader) throw requiredParamMissing('X-CRM-ORG');
      // ⚠ Zoho documents no code for a zgid of another org; INVALID_DATA names the header.
      if (orgHeader.trim() !== org.zgid) throw invalidData('invalid data', { param_name: 'X-CRM-ORG' });
      const form = await receiveForm(ctx, parts, { maxBytes: ZIP_MAX_BYTES, mode: 'disk' });
      try {
        const { file } = form;
        if (!file?.path) throw requiredParamMissing('file');
        if (file.overLimit)
          throw new ZohoFailure(400, 'FILE_TOO_LARGE', 'The file size is too large to process.');
        if (!(await isZip(file.path))) {
          throw new ZohoFailure(
            400,
            'INVALID_FILE_FORMAT',
            'The file you uploaded is not in the zip format.',
          );
        }
        const stored: BulkFile = {
          id: nextId(),
          fileName: file.fileName,
          path: file.path,
          size: file.size,
          sha256: file.sha256,
          createdAt: clock.now(),
        };
        files.set(stored.id, stored);
        ctx.stored = true;
        return json(200, {
          status: 'success',
          code: 'FILE_UPLOAD_SUCCESS',
          message: 'file uploaded.',
          details: { file_id: stored.id, created_time: zohoTime(stored.createdAt) },
        });
      } catch (error) {
        await form.discard();
        throw error;
      }
    } catch (error) {
      if (!(error instanceof ZohoFailure)) throw error;
      await drain(ctx);
      return styled(error, faults.current().uploadErrorStyle);
    }
  }

  async function createJob(ctx: RequestContext): Promise<Reply> {
    let body: unknown;
    try {
      body = JSON.parse((await readSmallBody(bodyOf(ctx), 1024 * 1024)).toString('utf8'));
    } catch (error) {
      if (error instanceof ZohoFailure) throw error;
      throw invalidData('the body is not valid JSON');
    }
    const request = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const operation = request.operation;
    if (operation === undefined) throw mandatoryNotFound('operation', '$.operation');
    if (operation !== 'insert' && operation !== 'update' && operation !== 'upsert') {
      throw invalidData('invalid data', { api_name: 'operation', json_path: '$.operation' });
    }
    const ignoreEmpty = request.ignore_empty === true;
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
      resources.push(await checkResource(raw, `$.resource[${index}]`, operation));
    }
    const job: Job = {
      id: nextId(),
      operation,
      ignoreEmpty,
      callback: callback
        ? { url: String(callback.url), method: String(callback.method ?? 'post') }
        : undefined,
      createdAt: clock.now(),
      resources,
      completed: false,
      fails: faults.takeFailBulkJob(),
    };
    jobs.set(job.id, job);
    return json(201, {
      status: 'success',
      code: 'SUCCESS',
      message: 'success',
      details: { id: job.id, created_by: user },
    });
  }

  async function checkResource(raw: unknown, path: string, operation: Operation): Promise<JobResource> {
    const resource = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (resource.type === undefined) throw mandatoryNotFound('type', `${path}.type`);
    if (resource.type !== 'data')
      throw invalidData('invalid data', { api_name: 'type', json_path: `${path}.type` });
    const moduleName = (resource.module as { api_name?: unknown } | undefined)?.api_name;
    if (typeof moduleName !== 'string') throw mandatoryNotFound('module', `${path}.module`);
    const module = crm.module(moduleName);
    if (!module) throw invalidModule();
    if (!module.bulk) throw invalidModule('the given module is not supported for bulk write');
    const fileId = resource.file_id;
    if (fileId === undefined) throw mandatoryNotFound('file_id', `${path}.file_id`);
    const file = files.get(String(fileId));
    if (!file)
      throw jobError('INVALID_FILE_ID', 'invalid file id', {
        api_name: 'file_id',
        json_path: `${path}.file_id`,
      });

    const fileError = (message: string) =>
      invalidData(message, { api_name: 'file_id', json_path: `${path}.file_id` });
    // ⚠ Zoho documents no code for an unreadable ZIP, one without CSV or with several; INVALID_DATA names the file.
    const { csvNames, csv, csvBytes } = await readCsvFromZip(file.path).catch((error: Error) => {
      throw fileError(`the zip file cannot be read: ${error.message}`);
    });
    if (csvBytes > CSV_MAX_BYTES) {
      // ⚠ The sandbox's own cap (bulk-zip.ts), answered like Zoho's CSV limits.
      throw jobError('LIMIT_EXCEEDED', 'the CSV file is larger than the sandbox can hold', {
        limit: CSV_MAX_BYTES,
        api_name: 'file_id',
        json_path: `${path}.file_id`,
      });
    }
    if (!csv) throw fileError('the zip file holds no CSV file');
    // Bulk write limitations: a module without subforms takes one CSV per ZIP.
    if (csvNames.length > 1) throw fileError('the zip file can hold only one CSV file for this module');
    if (csv.header.length > MAX_COLUMNS) {
      throw jobError('LIMIT_EXCEEDED', 'the CSV file has more columns than allowed', {
        limit: MAX_COLUMNS,
        api_name: 'file_id',
        json_path: `${path}.file_id`,
      });
    }
    if (csv.tooManyRows) {
      throw jobError('LIMIT_EXCEEDED', 'the CSV file has more records than allowed', {
        limit: MAX_ROWS,
        api_name: 'file_id',
        json_path: `${path}.file_id`,
      });
    }

    const mappings = Array.isArray(resource.field_mappings)
      ? checkMappings(resource.field_mappings as unknown[], module, csv, path)
      : mappingsFromHeader(module, csv, path);
    const mapped = new Set(mappings.map((m) => m.api_name));
    let findBy = typeof resource.find_by === 'string' ? resource.find_by : undefined;
    if (operation === 'update' && findBy === undefined) {
      if (!mapped.has('id')) throw mandatoryNotFound('find_by', `${path}.find_by`);
      findBy = 'id';
    }
    if (operation === 'upsert' && findBy === undefined)
      findBy = module.uniqueFields.find((f) => mapped.has(f));
    if (findBy !== undefined) {
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
    }
    if (operation !== 'update') {
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

  function knownField(module: ModuleSpec, name: string): boolean {
    return name === 'id' || module.fields[name] !== undefined;
  }

  function checkMappings(list: unknown[], module: ModuleSpec, csv: CsvFile, path: string): Mapping[] {
    return list.map((raw, i) => {
      const mapping = (typeof raw === 'object' && raw !== null ? raw : {}) as Mapping;
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
      } else if (
        !Number.isInteger(mapping.index) ||
        mapping.index < 0 ||
        mapping.index >= csv.header.length
      ) {
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

  /**
   * Status from the clock: ADDED for a step, IN PROGRESS for a step, then COMPLETED (applied once),
   * or FAILED (zoho-api.md, Bulk write step 4) for a job the `failBulkJobs` fault picked.
   */
  function statusOf(job: Job): JobStatus {
    const end = job.fails ? 'FAILED' : 'COMPLETED';
    if (job.completed) return end;
    const elapsed = clock.now() - job.createdAt;
    if (elapsed < options.stepMs) return 'ADDED';
    if (elapsed < 2 * options.stepMs) return 'IN PROGRESS';
    complete(job);
    return end;
  }

  function complete(job: Job): void {
    job.completed = true;
    if (job.fails) {
      // A failed job applies nothing and has no result to download.
      for (const resource of job.resources) {
        resource.counts = { added: 0, updated: 0, skipped: 0, total: resource.csv.rows.length };
        resource.csv = { ...resource.csv, rows: [] };
      }
      return;
    }
    const results: Array<{ name: string; data: string }> = [];
    for (const resource of job.resources) {
      const { counts, csv } = applyResource(resource, job);
      resource.counts = counts;
      results.push({
        name: `${resource.module.apiName}-${resource.csv.name.replace(/^.*\//, '')}`,
        data: csv,
      });
      resource.csv = { ...resource.csv, rows: [] }; // applied: the rows are not needed any more
    }
    job.resultZip = zipBuffer(results);
    job.resultZip.catch(() => {});
  }

  function applyResource(resource: JobResource, job: Job): { counts: Counts; csv: string } {
    const { module, csv, mappings, findBy } = resource;
    const counts: Counts = { added: 0, updated: 0, skipped: 0, total: csv.rows.length };
    const columnOf = (apiName: string) => {
      const mapping = mappings.find((m) => m.api_name === apiName);
      return mapping?.index !== undefined ? (csv.header[mapping.index] ?? apiName) : apiName;
    };
    const index = new Map<string, CrmRecord[]>();
    const keyOf = (value: unknown) =>
      String(value ?? '')
        .trim()
        .toLowerCase();
    const remember = (record: CrmRecord) => {
      if (findBy === undefined) return;
      const key = keyOf(findBy === 'id' ? record.id : record.fields[findBy]);
      if (key !== '') index.set(key, [...(index.get(key) ?? []), record]);
    };
    if (findBy !== undefined) for (const record of crm.records(module.apiName)) remember(record);

    // The result CSV keeps the first three mapped columns of the upload (Download Bulk Write Result).
    const kept = [...new Set(mappings.map((m) => m.index).filter((i): i is number => i !== undefined))]
      .sort((a, b) => a - b)
      .slice(0, 3);
    const out: string[][] = [[...kept.map((i) => csv.header[i] ?? ''), 'STATUS', 'RECORD_ID', 'ERRORS']];

    for (const row of csv.rows) {
      const errors = new Map<string, string[]>();
      const addError = (code: string, apiName: string) =>
        errors.set(code, [...(errors.get(code) ?? []), columnOf(apiName)]);
      const values = new Map<string, string>();
      for (const m of mappings) {
        let raw = m.index === undefined ? '' : (row[m.index] ?? '').trim();
        if (raw === '' && m.default_value?.value !== undefined && m.default_value.value !== null)
          raw = String(m.default_value.value);
        values.set(m.api_name, raw);
      }
      const fields: Record<string, unknown> = {};
      for (const [apiName, raw] of values) {
        if (apiName === 'id') continue;
        if (raw === '') {
          if (!job.ignoreEmpty) fields[apiName] = null;
          continue;
        }
        const converted = convert(module.fields[apiName] ?? 'text', raw);
        if (converted === INVALID) addError('INVALID_DATA', apiName);
        else fields[apiName] = converted;
      }
      const present = (f: string) => fields[f] !== undefined && fields[f] !== null;

      let status = 'SKIPPED';
      let recordId = '';
      const key = findBy === undefined ? '' : keyOf(values.get(findBy));
      const matches = key === '' ? [] : (index.get(key) ?? []);
      const wantsUpdate = job.operation === 'update' || (job.operation === 'upsert' && matches.length > 0);
      if (job.operation === 'update' && key === '' && findBy !== undefined)
        addError('MANDATORY_NOT_FOUND', findBy);
      else if (wantsUpdate && matches.length > 1) addError('DUPLICATE_DATA', findBy ?? 'id');
      else if (job.operation === 'update' && matches.length === 0)
        addError('RESOURCE_NOT_FOUND', findBy ?? 'id');

      if (wantsUpdate) {
        // An update may leave a mandatory field alone, but not empty it.
        for (const f of module.mandatory) if (f in fields && !present(f)) addError('MANDATORY_NOT_FOUND', f);
        const [record] = matches;
        if (errors.size === 0 && record && matches.length === 1) {
          const changes = Object.fromEntries(
            Object.entries(fields).filter(([, v]) => v !== null || !job.ignoreEmpty),
          );
          crm.update(record, changes);
          status = 'UPDATED';
          recordId = record.id;
          counts.updated += 1;
        }
      } else {
        for (const f of module.mandatory) if (!present(f)) addError('MANDATORY_NOT_FOUND', f);
        if (errors.size === 0) {
          const record = crm.create(
            module,
            Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== null)),
          );
          remember(record);
          status = 'ADDED';
          recordId = record.id;
          counts.added += 1;
        }
      }
      if (status === 'SKIPPED') counts.skipped += 1;
      // <errorCode>-<column_header>, columns of one code joined by ',', codes by ':' (Download Bulk Write Result).
      const errorText = [...errors].map(([code, columns]) => `${code}-${columns.join(',')}`).join(':');
      out.push([...kept.map((i) => row[i] ?? ''), status, recordId, errorText]);
    }
    return { counts, csv: stringify(out, { record_delimiter: '\r\n' }) };
  }

  function describe(job: Job): Record<string, unknown> {
    const status = statusOf(job);
    return {
      status,
      character_encoding: 'UTF-8',
      resource: job.resources.map((r) => ({
        status,
        type: 'data',
        module: { api_name: r.module.apiName, id: r.module.id },
        field_mappings: r.mappings,
        ...(r.findBy !== undefined ? { find_by: r.findBy } : {}),
        file: {
          status,
          name: r.csv.name,
          added_count: r.counts?.added ?? 0,
          updated_count: r.counts?.updated ?? 0,
          skipped_count: r.counts?.skipped ?? 0,
          total_count: r.counts?.total ?? r.csv.rows.length,
        },
      })),
      id: job.id,
      ...(status === 'COMPLETED' ? { result: { download_url: downloadUrl(job) } } : {}),
      created_by: user,
      operation: job.operation,
      ignore_empty: job.ignoreEmpty,
      ...(job.callback ? { callback: job.callback } : {}),
      created_time: zohoTime(job.createdAt),
    };
  }

  const downloadUrl = (job: Job) =>
    `${urls.url}/download/v2/crm/${org.zgid}/bulk-write/${job.id}/${job.id}.zip`;

  const routes: Route[] = [
    { host: 'upload', pattern: new RegExp(`^/crm/${V}/upload$`), methods: { POST: upload } },
    { host: 'api', pattern: new RegExp(`^/crm/bulk/${V}/write$`), methods: { POST: createJob } },
    {
      host: 'api',
      pattern: new RegExp(`^/crm/bulk/${V}/write/(?<jobId>[^/]+)$`),
      methods: {
        async GET(ctx) {
          const job = jobs.get(ctx.params.jobId ?? '');
          // ⚠ Zoho documents no code for an unknown job id; INVALID_DATA names it.
          if (!job) throw invalidData('the job id given seems to be invalid', { id: ctx.params.jobId ?? '' });
          return json(200, describe(job));
        },
      },
    },
    {
      host: 'download',
      pattern: /^\/v2\/crm\/(?<zgid>\d+)\/bulk-write\/(?<jobId>\d+)\/(?<file>[^/]+)\.zip$/,
      methods: {
        async GET(ctx) {
          const job = jobs.get(ctx.params.jobId ?? '');
          if (
            !job ||
            ctx.params.zgid !== org.zgid ||
            ctx.params.file !== job.id ||
            statusOf(job) !== 'COMPLETED'
          ) {
            throw invalidUrl();
          }
          const zip = await (job.resultZip as Promise<Buffer>);
          return {
            status: 200,
            raw: zip,
            headers: {
              'Content-Type': 'application/zip',
              'Content-Disposition': `attachment; filename="${job.id}.zip"`,
            },
          };
        },
      },
    },
  ];

  return {
    routes,
    /** Completes every job whose time has come (called on each request, inspection and clock move). */
    settle() {
      for (const job of jobs.values()) if (!job.completed) statusOf(job);
    },
    snapshot: () => ({
      files: [...files.values()].map((f) => ({
        id: f.id,
        fileName: f.fileName,
        size: f.size,
        sha256: f.sha256,
        createdTime: zohoTime(f.createdAt),
      })),
      jobs: [...jobs.values()].map((job) => ({
        id: job.id,
        operation: job.operation,
        status: statusOf(job),
        createdTime: zohoTime(job.createdAt),
        resources: job.resources.map((r) => ({
          module: r.module.apiName,
          fileId: r.fileId,
          findBy: r.findBy ?? null,
          counts: r.counts ?? null,
        })),
      })),
    }),
    async close() {
      await Promise.all([...files.values()].map((f) => rm(f.path, { force: true })));
    },
  };
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
