/**
 * Zoho's file store (ZFS) and file-upload fields: `POST /crm/{v}/files` takes a multipart `file`
 * and answers its id (crm-oas v8.0 files.json); a record update puts ids into a file-upload field
 * (`{"File_Id__s": …}` adds one, `{"id": …, "_delete": null}` removes one: crm-oas v8.0 record.json
 * `FileDetails`, and the TypeScript SDK 8.0's record/file_details.ts; the files already there
 * stay), and the record's field lists them as `FileDetails`; a
 * field file is downloaded with `GET …/{id}/actions/download_fields_attachment?fields_attachment_id=`
 * (crm-oas v8.0 field_attachments.json). Also the record itself: get (with `fields`) and update.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { zohoTime } from './clock.ts';
import { bodyOf, type RequestContext, type Route, receiveForm, type SandboxParts } from './context.ts';
import { type CrmRecord, SANDBOX_USER } from './crm.ts';
import {
  contentDisposition,
  invalidData,
  json,
  type Reply,
  readSmallBody,
  requiredParamMissing,
  ZohoFailure,
} from './http.ts';
import type { ModuleSpec } from './modules.ts';
import { pickFields } from './paging.ts';

/** ZFS takes files up to 20 MB (⚠ an assumption: no Zoho source gives the figure; crm-oas v8.0 files.json names only the refusal). */
export const ZFS_MAX_BYTES = 20 * 1024 * 1024;
/**
 * How many files a file-upload field holds, by default. ⚠ An assumption, no Zoho source: the field
 * metadata (crm-oas v8.0 fields.json) has no file count (its `file_upolad_optionlist` lists where
 * files may come from), record.json names a LIMIT_EXCEEDED only for image upload fields. The
 * sandbox option `fieldMaxFiles` overrides it.
 */
export const FIELD_MAX_FILES = 5;

interface ZfsFile {
  id: string;
  fileName: string;
  size: number;
  sha256: string;
  contentType: string | undefined;
  path: string;
  createdAt: number;
}

/** One file in one record's field: `id` is the field attachment's id, `File_Id__s` the ZFS id. */
interface FieldFile {
  id: string;
  fileId: string;
  module: string;
  recordId: string;
  field: string;
  createdAt: number;
}

interface FieldFiles {
  parts: SandboxParts;
  maxFiles: number;
  zfs: Map<string, ZfsFile>;
  inFields: Map<string, FieldFile>;
}

const V = '(?<v>v[2-8](?:\\.\\d)?)';
const RECORD = `/crm/${V}/(?<module>[^/]+)/(?<id>[^/]+)`;
const USER = { name: SANDBOX_USER.name, id: SANDBOX_USER.id };

export function fieldFileRoutes(parts: SandboxParts, options: { maxFiles?: number | undefined } = {}) {
  const state: FieldFiles = {
    parts,
    maxFiles: options.maxFiles ?? FIELD_MAX_FILES,
    zfs: new Map(),
    inFields: new Map(),
  };
  const routes: Route[] = [
    {
      host: 'api',
      pattern: new RegExp(`^/crm/${V}/files$`),
      methods: { POST: (ctx) => uploadToZfs(state, ctx), GET: async (ctx) => downloadZfs(state, ctx) },
    },
    {
      host: 'api',
      pattern: new RegExp(`^${RECORD}/actions/download_fields_attachment$`),
      methods: { GET: async (ctx) => downloadFieldFile(state, ctx) },
    },
    {
      host: 'api',
      pattern: new RegExp(`^${RECORD}$`),
      methods: { GET: async (ctx) => getRecord(state, ctx), PUT: (ctx) => updateRecord(state, ctx) },
    },
  ];
  return {
    routes,
    /** The state a restart keeps (persist.ts). */
    maps: { zfs: state.zfs, inFields: state.inFields },
    /** What each field holds, with each file's bytes' SHA-256. */
    snapshot: () =>
      [...state.inFields.values()].map((f) => {
        const file = state.zfs.get(f.fileId);
        return { ...f, fileName: file?.fileName, size: file?.size, sha256: file?.sha256 };
      }),
    /** Files uploaded to ZFS, in a field or not. */
    zfsFiles: () => [...state.zfs.values()].map(({ path: _path, ...file }) => file),
  };
}

async function uploadToZfs(state: FieldFiles, ctx: RequestContext): Promise<Reply> {
  const form = await receiveForm(ctx, state.parts, { maxBytes: ZFS_MAX_BYTES, mode: 'disk' });
  try {
    const { file } = form;
    if (!file?.path) throw requiredParamMissing('file');
    if (file.overLimit) {
      // crm-oas v8.0 files.json: Size_Exceeds, a 400.
      throw new ZohoFailure(
        400,
        'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
        'please check if the file size is in the correct range',
      );
    }
    // ⚠ Zoho documents no answer for an empty file; INVALID_DATA is files.json's closest code.
    if (file.size === 0) throw invalidData('the file is empty', { param_name: 'file' });
    const id = createHash('sha256').update(`zfs-${state.parts.nextId()}`).digest('hex');
    state.zfs.set(id, {
      id,
      fileName: file.fileName,
      size: file.size,
      sha256: file.sha256,
      contentType: file.contentType,
      path: file.path,
      createdAt: state.parts.clock.now(),
    });
    ctx.stored = true;
    const details = { name: file.fileName, id };
    return json(200, {
      data: [{ code: 'SUCCESS', details, message: 'file uploaded successfully', status: 'success' }],
    });
  } catch (error) {
    await form.discard();
    throw error;
  }
}

function streamFile(file: ZfsFile): Reply {
  return {
    status: 200,
    stream: () => createReadStream(file.path),
    headers: {
      'Content-Type': file.contentType ?? 'application/octet-stream',
      'Content-Length': file.size,
      'Content-Disposition': contentDisposition(file.fileName),
    },
  };
}

function downloadZfs(state: FieldFiles, ctx: RequestContext): Reply {
  const id = ctx.query.get('id');
  if (!id) throw requiredParamMissing('id');
  const file = state.zfs.get(id);
  if (!file) throw invalidData('the id given seems to be invalid', { param_name: 'id' });
  return streamFile(file);
}

function downloadFieldFile(state: FieldFiles, ctx: RequestContext): Reply {
  const { module, record } = state.parts.crm.requireTarget(ctx.params);
  const id = ctx.query.get('fields_attachment_id');
  if (!id) throw requiredParamMissing('fields_attachment_id');
  const entry = state.inFields.get(id);
  const file = entry && state.zfs.get(entry.fileId);
  if (!entry || !file || entry.module !== module.apiName || entry.recordId !== record.id) {
    throw invalidData('the id given seems to be invalid', { param_name: 'fields_attachment_id' });
  }
  return streamFile(file);
}

function getRecord(state: FieldFiles, ctx: RequestContext): Reply {
  const { record } = state.parts.crm.requireTarget(ctx.params);
  const view = { ...state.parts.crm.view(record), ...fieldViews(state, record) };
  const wanted = ctx.query
    .get('fields')
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  return json(200, { data: [pickFields(view, wanted)] });
}

/** The record's file-upload fields as `FileDetails` lists (null when empty, as Zoho sends them). */
function fieldViews(state: FieldFiles, record: CrmRecord): Record<string, unknown> {
  const module = state.parts.crm.requireModule(record.module);
  const views: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(module.fields)) {
    if (type !== 'fileupload') continue;
    const files = ofField(state, record, field).map((f) => {
      const file = state.zfs.get(f.fileId);
      const time = zohoTime(f.createdAt);
      return {
        id: f.id,
        File_Id__s: f.fileId,
        File_Name__s: file?.fileName ?? '',
        // Zoho sends the size as a string.
        Size__s: String(file?.size ?? 0),
        Created_Time__s: time,
        Modified_Time__s: time,
        Created_By__s: USER,
        Modified_By__s: USER,
        Owner__s: USER,
      };
    });
    views[field] = files.length > 0 ? files : null;
  }
  return views;
}

function ofField(state: FieldFiles, record: CrmRecord, field: string): FieldFile[] {
  return [...state.inFields.values()]
    .filter((f) => f.module === record.module && f.recordId === record.id && f.field === field)
    .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** `PUT /crm/{v}/{module}/{id}` with `{"data":[{field: value, …}]}`: Zoho's per-record answer. */
async function updateRecord(state: FieldFiles, ctx: RequestContext): Promise<Reply> {
  const { module, record } = state.parts.crm.requireTarget(ctx.params);
  const text = (await readSmallBody(bodyOf(ctx), 1024 * 1024)).toString('utf8');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw invalidData('body is not a valid JSON', {});
  }
  const data = (body as { data?: unknown })?.data;
  const fields = Array.isArray(data) ? data[0] : undefined;
  if (typeof fields !== 'object' || fields === null) throw requiredParamMissing('data');
  const refusal = applyUpdate(state, module, record, fields as Record<string, unknown>);
  if (refusal) {
    return json(400, {
      data: [{ code: refusal.code, details: refusal.details, message: refusal.message, status: 'error' }],
    });
  }
  ctx.stored = true;
  const time = zohoTime(record.modifiedAt);
  const details = {
    Modified_Time: time,
    Modified_By: USER,
    Created_Time: zohoTime(record.createdAt),
    id: record.id,
    Created_By: USER,
  };
  return json(200, { data: [{ code: 'SUCCESS', details, message: 'record updated', status: 'success' }] });
}

type Refusal = { code: string; message: string; details: Record<string, unknown> };

/** Checks every field first, then applies them all, or nothing. */
function applyUpdate(
  state: FieldFiles,
  module: ModuleSpec,
  record: CrmRecord,
  fields: Record<string, unknown>,
): Refusal | undefined {
  const plain: Record<string, unknown> = {};
  const fileChanges: Array<() => void> = [];
  for (const [field, value] of Object.entries(fields)) {
    if (field === 'id') continue;
    const type = module.fields[field];
    if (!type) return { code: 'INVALID_DATA', message: 'invalid data', details: { api_name: field } };
    if (type === 'fileupload') {
      const change = fileChange(state, record, field, value);
      if ('code' in change) return change;
      fileChanges.push(change.apply);
      continue;
    }
    if (typeof value === 'object' && value !== null && type !== 'lookup') {
      return {
        code: 'INVALID_DATA',
        message: 'invalid data',
        details: { api_name: field, expected_data_type: type },
      };
    }
    plain[field] = value;
  }
  for (const apply of fileChanges) apply();
  state.parts.crm.update(record, plain);
  return undefined;
}

/**
 * One file-upload field's list of changes, as `FileDetails` (crm-oas v8.0 record.json): an entry
 * with `File_Id__s` adds that ZFS file, one with `id` and `_delete` removes that entry. ⚠ An entry
 * with neither (the v2-era `file_id` / `attachment_id`, which FileDetails does not have) is refused
 * INVALID_DATA naming the entry: no Zoho source says what v8 answers, and nothing is attached.
 */
function fileChange(
  state: FieldFiles,
  record: CrmRecord,
  field: string,
  value: unknown,
): Refusal | { apply: () => void } {
  const invalid = (details: Record<string, unknown>): Refusal => ({
    code: 'INVALID_DATA',
    message: 'invalid data',
    details: { api_name: field, ...details },
  });
  if (!Array.isArray(value)) return invalid({ expected_data_type: 'jsonarray' });
  const files = ofField(state, record, field);
  const held = new Set(files.map((f) => f.id));
  const heldFiles = new Set(files.map((f) => f.fileId));
  const adds: string[] = [];
  const removals: string[] = [];
  for (const [index, item] of value.entries()) {
    const entry = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    const jsonPath = `$.data[0].${field}[${index}]`;
    const fileId = entry.File_Id__s;
    if ('_delete' in entry) {
      if (typeof entry.id !== 'string' || !held.has(entry.id))
        return invalid({ id: entry.id ?? null, json_path: jsonPath });
      removals.push(entry.id);
    } else if (typeof fileId === 'string' && state.zfs.has(fileId)) {
      // ⚠ The sandbox's choice: a ZFS file already in the field is not added twice.
      if (!heldFiles.has(fileId) && !adds.includes(fileId)) adds.push(fileId);
    } else {
      return invalid({ File_Id__s: fileId ?? null, json_path: jsonPath });
    }
  }
  if (held.size - removals.length + adds.length > state.maxFiles) {
    // ⚠ No Zoho source gives the limit or its code: record.json has LIMIT_EXCEEDED for image upload fields.
    return {
      code: 'LIMIT_EXCEEDED',
      message: `a file upload field takes at most ${state.maxFiles} files`,
      details: { api_name: field, limit: state.maxFiles },
    };
  }
  return {
    apply() {
      for (const id of removals) state.inFields.delete(id);
      for (const fileId of adds) {
        const id = state.parts.nextId();
        const at = state.parts.clock.now();
        state.inFields.set(id, {
          id,
          fileId,
          module: record.module,
          recordId: record.id,
          field,
          createdAt: at,
        });
      }
    },
  };
}
