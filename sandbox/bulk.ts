/**
 * Bulk write (zoho-api.md, Bulk write; seed 003): the ZIP upload on the upload host, the job on
 * the API host, its ADDED → IN PROGRESS → COMPLETED life on the sandbox clock, the rows really
 * applied at completion (bulk-apply.ts), and the result ZIP (STATUS, RECORD_ID, ERRORS per row)
 * for download. The create-job checks are in bulk-job.ts.
 */
import { rm } from 'node:fs/promises';
import { applyResource, parentIdsOf } from './bulk-apply.ts';
import { type BulkFile, checkJobRequest, type JobRequest, type JobResource } from './bulk-job.ts';
import { isZip, zipBuffer } from './bulk-zip.ts';
import { zohoTime } from './clock.ts';
import type { RequestContext, Route, SandboxParts } from './context.ts';
import { bodyOf, drain, receiveForm } from './context.ts';
import { SANDBOX_USER } from './crm.ts';
import type { UploadErrorStyle } from './faults.ts';
import {
  headerValue,
  invalidData,
  invalidUrl,
  json,
  type Reply,
  readSmallBody,
  requiredParamMissing,
  ZohoFailure,
} from './http.ts';

/** Zoho: the uploaded ZIP is at most 25 MB. */
export const ZIP_MAX_BYTES = 25 * 1024 * 1024;

interface Job extends JobRequest {
  id: string;
  createdAt: number;
  completed: boolean;
  /** Fault `failBulkJobs`: the job ends FAILED instead of COMPLETED. */
  fails: boolean;
  resultZip?: Promise<Buffer>;
}

type JobStatus = 'ADDED' | 'IN PROGRESS' | 'COMPLETED' | 'FAILED';

interface BulkState {
  parts: SandboxParts;
  stepMs: number;
  files: Map<string, BulkFile>;
  jobs: Map<string, Job>;
}

const user = { id: SANDBOX_USER.id, name: SANDBOX_USER.name };
const V = '(?<v>v[2-8](?:\\.\\d)?)';

export function bulkRoutes(parts: SandboxParts, options: { stepMs: number }) {
  const state: BulkState = { parts, stepMs: options.stepMs, files: new Map(), jobs: new Map() };
  const routes: Route[] = [
    {
      host: 'upload',
      pattern: new RegExp(`^/crm/${V}/upload$`),
      methods: { POST: (ctx) => upload(state, ctx) },
    },
    {
      host: 'api',
      pattern: new RegExp(`^/crm/bulk/${V}/write$`),
      methods: { POST: (ctx) => createJob(state, ctx) },
    },
    {
      host: 'api',
      pattern: new RegExp(`^/crm/bulk/${V}/write/(?<jobId>[^/]+)$`),
      methods: { GET: async (ctx) => json(200, describe(state, knownJob(state, ctx.params.jobId ?? ''))) },
    },
    {
      host: 'download',
      pattern: /^\/v2\/crm\/(?<zgid>\d+)\/bulk-write\/(?<jobId>\d+)\/(?<file>[^/]+)\.zip$/,
      methods: { GET: (ctx) => download(state, ctx) },
    },
  ];
  return {
    routes,
    /** Completes every job whose time has come (called on each request, inspection and clock move). */
    settle() {
      for (const job of state.jobs.values()) if (!job.completed) statusOf(state, job);
    },
    snapshot: () => snapshot(state),
    /** The state a restart keeps (persist.ts). */
    maps: { bulkFiles: state.files, bulkJobs: state.jobs },
    async close() {
      await Promise.all([...state.files.values()].map((f) => rm(f.path, { force: true })));
    },
  };
}

/**
 * What the file host answers when the `feature` header is missing, in every error style: the
 * envelope crm-oas v8.0 bulk_write.json components.schemas.API_Exception documents for it, its
 * `x-error` enum "check if headers [feature, X-CRM-ORG] are present and valid".
 */
const missingFeature = (): Reply =>
  json(200, {
    ERROR_CODE: 400,
    ERROR_MESSAGE: 'Bad Request',
    'x-error': 'check if headers [feature, X-CRM-ORG] are present and valid',
  });

/**
 * `legacy-200` is the file host's own envelope as crm-oas v8.0 bulk_write.json `API_Exception`
 * types it: `ERROR_CODE` an integer, `ERROR_MESSAGE` ("Bad Request") and `x-error`, what is wrong,
 * as body properties (no header: the spec names none).
 */
function styled(failure: ZohoFailure, style: UploadErrorStyle): Reply {
  if (style === 'flat-400') return json(failure.status, failure.body);
  if (style === 'flat-200') return json(200, failure.body);
  return json(200, { ERROR_CODE: failure.status, ERROR_MESSAGE: 'Bad Request', 'x-error': failure.message });
}

function checkUploadHeaders(ctx: RequestContext, zgid: string): void {
  const feature = headerValue(ctx.req, 'feature') ?? '';
  if (feature.trim().toLowerCase() !== 'bulk-write')
    throw invalidData('invalid data', { param_name: 'feature' });
  const orgHeader = headerValue(ctx.req, 'x-crm-org');
  if (!orgHeader) throw requiredParamMissing('X-CRM-ORG');
  // ⚠ Zoho documents no code for a zgid of another org; INVALID_DATA names the header.
  if (orgHeader.trim() !== zgid) throw invalidData('invalid data', { param_name: 'X-CRM-ORG' });
}

async function upload(state: BulkState, ctx: RequestContext): Promise<Reply> {
  const { parts } = state;
  if (!headerValue(ctx.req, 'feature')) {
    await drain(ctx);
    return missingFeature();
  }
  try {
    checkUploadHeaders(ctx, parts.org.zgid);
    const form = await receiveForm(ctx, parts, { maxBytes: ZIP_MAX_BYTES, mode: 'disk' });
    try {
      const { file } = form;
      if (!file?.path) throw requiredParamMissing('file');
      if (file.overLimit)
        throw new ZohoFailure(400, 'FILE_TOO_LARGE', 'The file size is too large to process.');
      if (!(await isZip(file.path))) {
        throw new ZohoFailure(400, 'INVALID_FILE_FORMAT', 'The file you uploaded is not in the zip format.');
      }
      const stored: BulkFile = {
        id: parts.nextId(),
        fileName: file.fileName,
        path: file.path,
        size: file.size,
        sha256: file.sha256,
        createdAt: parts.clock.now(),
      };
      state.files.set(stored.id, stored);
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
    return styled(error, parts.faults.current().uploadErrorStyle);
  }
}

async function createJob(state: BulkState, ctx: RequestContext): Promise<Reply> {
  // crm-oas v8.0 bulk_write.json, Create Bulk Write Job: the body is application/json.
  const type = headerValue(ctx.req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    await drain(ctx);
    throw invalidData('the body must be JSON, sent as Content-Type: application/json', {
      content_type: type ?? null,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse((await readSmallBody(bodyOf(ctx), 1024 * 1024)).toString('utf8'));
  } catch (error) {
    if (error instanceof ZohoFailure) throw error;
    throw invalidData('the body is not valid JSON');
  }
  const request = await checkJobRequest(body, state.parts.crm, state.files);
  const job: Job = {
    ...request,
    id: state.parts.nextId(),
    createdAt: state.parts.clock.now(),
    completed: false,
    fails: state.parts.faults.takeFailBulkJob(),
  };
  state.jobs.set(job.id, job);
  return json(201, {
    status: 'success',
    code: 'SUCCESS',
    message: 'success',
    details: { id: job.id, created_by: user },
  });
}

/**
 * An unknown job id: 400 RESOURCE_NOT_FOUND (crm-oas v8.0 bulk_write.json, `Get Bulk Write Job
 * Details` responses.400, schema `Resource_Not_Found`; it is bulk read that answers 404).
 */
function knownJob(state: BulkState, jobId: string): Job {
  const job = state.jobs.get(jobId);
  if (!job) {
    throw new ZohoFailure(400, 'RESOURCE_NOT_FOUND', 'the requested resource does not exist', {
      resource: jobId,
    });
  }
  return job;
}

/**
 * Status from the clock: ADDED for a step, IN PROGRESS for a step, then COMPLETED (applied once),
 * or FAILED (zoho-api.md, Bulk write step 4) for a job the `failBulkJobs` fault picked.
 */
function statusOf(state: BulkState, job: Job): JobStatus {
  const end = job.fails ? 'FAILED' : 'COMPLETED';
  if (job.completed) return end;
  const elapsed = state.parts.clock.now() - job.createdAt;
  if (elapsed < state.stepMs) return 'ADDED';
  if (elapsed < 2 * state.stepMs) return 'IN PROGRESS';
  complete(state, job);
  return end;
}

function complete(state: BulkState, job: Job): void {
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
  const recordIds = new Map<JobResource, string[]>();
  // Parents first: a subform's rows point at the records their parent rows made.
  const ordered = [...job.resources].sort(
    (a, b) => Number(!!a.module.subformOf) - Number(!!b.module.subformOf),
  );
  for (const resource of ordered) {
    const {
      counts,
      csv,
      recordIds: ids,
    } = applyResource(resource, state.parts.crm, job, parentIds(job, resource, recordIds));
    resource.counts = counts;
    recordIds.set(resource, ids);
    results.push({ name: `${resource.module.apiName}-${resource.csv.name.replace(/^.*\//, '')}`, data: csv });
  }
  for (const resource of job.resources) resource.csv = { ...resource.csv, rows: [] }; // applied: not needed any more
  job.resultZip = zipBuffer(results);
  job.resultZip.catch(() => {});
}

/** For a subform's resource, its parent rows' records by the linked column (bulk-job.ts checked both exist). */
function parentIds(job: Job, child: JobResource, done: Map<JobResource, string[]>) {
  const link = child.mappings.find((m) => m.parent_column_index !== undefined);
  const parent = job.resources.find((r) => r.module.apiName === child.module.subformOf);
  if (!child.module.subformOf || link?.parent_column_index === undefined || !parent) return undefined;
  return parentIdsOf(parent, link.parent_column_index, done.get(parent) ?? []);
}

function describe(state: BulkState, job: Job): Record<string, unknown> {
  const status = statusOf(state, job);
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
    ...(status === 'COMPLETED' ? { result: { download_url: downloadUrl(state, job) } } : {}),
    created_by: user,
    operation: job.operation,
    ignore_empty: job.ignoreEmpty,
    ...(job.callback ? { callback: job.callback } : {}),
    created_time: zohoTime(job.createdAt),
  };
}

const downloadUrl = (state: BulkState, job: Job) =>
  `${state.parts.urls.url}/download/v2/crm/${state.parts.org.zgid}/bulk-write/${job.id}/${job.id}.zip`;

async function download(state: BulkState, ctx: RequestContext): Promise<Reply> {
  const job = state.jobs.get(ctx.params.jobId ?? '');
  if (
    !job ||
    ctx.params.zgid !== state.parts.org.zgid ||
    ctx.params.file !== job.id ||
    statusOf(state, job) !== 'COMPLETED'
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
}

function snapshot(state: BulkState) {
  return {
    files: [...state.files.values()].map((f) => ({
      id: f.id,
      fileName: f.fileName,
      size: f.size,
      sha256: f.sha256,
      createdTime: zohoTime(f.createdAt),
    })),
    jobs: [...state.jobs.values()].map((job) => ({
      id: job.id,
      operation: job.operation,
      status: statusOf(state, job),
      createdTime: zohoTime(job.createdAt),
      resources: job.resources.map((r) => ({
        module: r.module.apiName,
        fileId: r.fileId,
        findBy: r.findBy ?? null,
        counts: r.counts ?? null,
      })),
    })),
  };
}
