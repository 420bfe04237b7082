/**
 * Attachments (zoho-api.md, Attachments; seeds 001 and 002): upload a file or a link, list,
 * download, delete. Notes take attachments like any module.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { zohoTime } from './clock.ts';
import {
  drain,
  type ReceivedFile,
  type RequestContext,
  type Route,
  receiveForm,
  type SandboxParts,
} from './context.ts';
import { SANDBOX_USER } from './crm.ts';
import {
  contentDisposition,
  headerValue,
  invalidData,
  json,
  noContent,
  type Reply,
  requiredParamMissing,
  ZohoFailure,
} from './http.ts';
import { pageOf, pickFields } from './paging.ts';

export interface StoredAttachment {
  id: string;
  module: string;
  recordId: string;
  fileName: string;
  size: number;
  sha256: string;
  contentType: string | undefined;
  createdAt: number;
  /** The file on disk; absent for a link. */
  path?: string;
  linkUrl?: string;
}

/** Fields the list API knows; `fields` may name only these. */
const LIST_FIELDS = [
  'id',
  'File_Name',
  'Size',
  'Created_Time',
  'Modified_Time',
  'Created_By',
  'Modified_By',
  'Owner',
  'Parent_Id',
  '$file_id',
  '$type',
  '$link_url',
  '$se_module',
  '$editable',
  '$sharing_permission',
  '$attachment_type',
];

const V = '(?<v>v[2-8](?:\\.\\d)?)';
const RECORD = `/crm/${V}/(?<module>[^/]+)/(?<id>[^/]+)`;

/** What every handler here works on: the sandbox's parts, its limit and the stored attachments. */
interface Attachments {
  parts: SandboxParts;
  maxBytes: number;
  stored: Map<string, StoredAttachment>;
}

const USER = { name: SANDBOX_USER.name, id: SANDBOX_USER.id };

/**
 * Zoho's attachment limit, on Zoho's side of the contract (the client's is ATTACHMENT_MAX_BYTES in
 * functions/lib/inspect/limits.ts): 100 MB (../shared/zoho-api.md ⚠: the legacy API said 20 MB).
 */
export const ATTACHMENT_MAX_BYTES = 100 * 1024 * 1024;

export function attachmentRoutes(parts: SandboxParts, options: { maxBytes: number }) {
  const state: Attachments = { parts, maxBytes: options.maxBytes, stored: new Map() };
  const routes: Route[] = [
    {
      host: 'api',
      pattern: new RegExp(`^${RECORD}/Attachments$`),
      methods: { POST: (ctx) => upload(state, ctx), GET: async (ctx) => list(state, ctx) },
    },
    {
      host: 'api',
      pattern: new RegExp(`^${RECORD}/Attachments/(?<attachmentId>[^/]+)$`),
      methods: { GET: async (ctx) => download(state, ctx), DELETE: (ctx) => remove(state, ctx) },
    },
  ];
  return {
    routes,
    /** The state a restart keeps (persist.ts). */
    maps: { attachments: state.stored },
    snapshot: () =>
      [...state.stored.values()].map((a) => ({
        id: a.id,
        module: a.module,
        recordId: a.recordId,
        fileName: a.fileName,
        size: a.size,
        sha256: a.sha256,
        contentType: a.contentType,
        createdTime: zohoTime(a.createdAt),
        ...(a.linkUrl ? { linkUrl: a.linkUrl } : {}),
      })),
  };
}

function ofRecord(state: Attachments, module: string, recordId: string): StoredAttachment[] {
  return [...state.stored.values()].filter((a) => a.module === module && a.recordId === recordId);
}

function find(state: Attachments, params: Record<string, string>): StoredAttachment {
  const { module, record } = state.parts.crm.requireTarget(params);
  const attachment = state.stored.get(params.attachmentId ?? '');
  if (!attachment || attachment.module !== module.apiName || attachment.recordId !== record.id) {
    throw invalidData('the id given seems to be invalid', { id: params.attachmentId ?? '' });
  }
  return attachment;
}

async function upload(state: Attachments, ctx: RequestContext): Promise<Reply> {
  const { module, record } = state.parts.crm.requireTarget(ctx.params);
  // A link may come in the query alone, with no multipart body at all.
  const linkOnly =
    ctx.query.has('attachmentUrl') && !/multipart/i.test(headerValue(ctx.req, 'content-type') ?? '');
  const form = linkOnly
    ? { file: undefined, fields: {} as Record<string, string>, discard: async () => drain(ctx) }
    : await receiveForm(ctx, state.parts, {
        maxBytes: state.maxBytes,
        mode: 'disk',
        textFields: ['attachmentUrl', 'title'],
      });
  try {
    // crm-oas v8.0 attachments.json sends `attachmentUrl` and `title` as query parameters.
    const link = ctx.query.get('attachmentUrl') ?? form.fields.attachmentUrl;
    const title = ctx.query.get('title') ?? form.fields.title;
    const { file } = form;
    // Kaizen #58 (seed 002): a file and a URL in one request, or a URL already attached, are INVALID_DATA.
    if (file && link !== undefined) throw invalidData('You can attach either a file or a URL at a time');
    if (!file && link === undefined) throw requiredParamMissing('file');
    const now = state.parts.clock.now();
    const attachment: StoredAttachment = {
      id: state.parts.nextId(),
      module: module.apiName,
      recordId: record.id,
      fileName: '',
      size: 0,
      sha256: '',
      contentType: undefined,
      createdAt: now,
      ...(file ? fileFields(file) : linkFields(state, module.apiName, record.id, link ?? '', title)),
    };
    state.stored.set(attachment.id, attachment);
    ctx.stored = true;
    const time = zohoTime(now);
    const details = {
      Modified_Time: time,
      Modified_By: USER,
      Created_Time: time,
      id: attachment.id,
      Created_By: USER,
    };
    return json(200, {
      data: [{ code: 'SUCCESS', details, message: 'attachment uploaded successfully', status: 'success' }],
    });
  } catch (error) {
    await form.discard();
    throw error;
  }
}

/** An uploaded file, checked as Zoho checks it. */
function fileFields(file: ReceivedFile): Partial<StoredAttachment> {
  if (file.overLimit) {
    throw new ZohoFailure(
      415,
      'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
      'please check if the file size is in the correct range',
    );
  }
  if (/\.exe$/i.test(file.fileName.trim())) throw invalidData('invalid file type', {}, 415);
  // ⚠ Zoho documents no answer for an empty file; INVALID_DATA is the closest documented code.
  if (file.size === 0) throw invalidData('the file is empty', { param_name: 'file' });
  return {
    fileName: file.fileName,
    size: file.size,
    sha256: file.sha256,
    contentType: file.contentType,
    ...(file.path ? { path: file.path } : {}),
  };
}

/** A link, once per record. */
function linkFields(
  state: Attachments,
  module: string,
  recordId: string,
  link: string,
  title: string | undefined,
): Partial<StoredAttachment> {
  const url = link.trim();
  if (!/^https?:\/\/\S+$/i.test(url))
    throw invalidData('the attachmentUrl is not a valid URL', { param_name: 'attachmentUrl' });
  if (ofRecord(state, module, recordId).some((a) => a.linkUrl === url)) {
    throw invalidData('the URL is already attached to this record', { param_name: 'attachmentUrl' });
  }
  return { fileName: title?.trim() || url, linkUrl: url };
}

function list(state: Attachments, ctx: RequestContext): Reply {
  const { module, record } = state.parts.crm.requireTarget(ctx.params);
  const fields = ctx.query.get('fields');
  // From v3 on, `fields` is mandatory (zoho-api.md, Attachments).
  if (ctx.version >= 3 && !fields) throw requiredParamMissing('fields');
  const wanted = fields
    ? fields
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
    : undefined;
  const unknown = wanted?.find((f) => !LIST_FIELDS.includes(f));
  if (unknown !== undefined) throw invalidData('invalid data', { api_name: unknown });
  // Newest first.
  const all = ofRecord(state, module.apiName, record.id).sort(
    (a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1),
  );
  const { items, info } = pageOf(all, ctx.query);
  if (items.length === 0) return noContent();
  return json(200, { data: items.map((a) => pickFields(view(state, a), wanted)), info });
}

function view(state: Attachments, a: StoredAttachment): Record<string, unknown> {
  return {
    Owner: { ...SANDBOX_USER },
    Modified_By: USER,
    Created_By: USER,
    Parent_Id: { name: parentName(state, a), id: a.recordId },
    File_Name: a.fileName,
    // Zoho sends the size as a string.
    Size: String(a.size),
    Created_Time: zohoTime(a.createdAt),
    Modified_Time: zohoTime(a.createdAt),
    $file_id: a.linkUrl ? null : `sandbox-file-${a.id}`,
    $type: a.linkUrl ? 'Link URL' : 'Attachment',
    $link_url: a.linkUrl ?? null,
    $se_module: a.module,
    $editable: true,
    $sharing_permission: 'full_access',
    $attachment_type: 1,
    id: a.id,
  };
}

function parentName(state: Attachments, a: StoredAttachment): string {
  const fields = state.parts.crm.records(a.module).find((r) => r.id === a.recordId)?.fields ?? {};
  const name =
    fields.Last_Name ?? fields.Account_Name ?? fields.Deal_Name ?? fields.Note_Title ?? fields.Name ?? '';
  return String(name);
}

function download(state: Attachments, ctx: RequestContext): Reply {
  const attachment = find(state, ctx.params);
  const { path } = attachment;
  // Kaizen #58: links cannot be downloaded, only files.
  if (!path) throw invalidData('a link attachment cannot be downloaded', { id: attachment.id });
  return {
    status: 200,
    stream: () => createReadStream(path),
    headers: {
      'Content-Type': attachment.contentType ?? 'application/octet-stream',
      'Content-Length': attachment.size,
      'Content-Disposition': contentDisposition(attachment.fileName),
    },
  };
}

async function remove(state: Attachments, ctx: RequestContext): Promise<Reply> {
  const attachment = find(state, ctx.params);
  state.stored.delete(attachment.id);
  if (attachment.path) await rm(attachment.path, { force: true });
  return json(200, {
    data: [{ code: 'SUCCESS', details: { id: attachment.id }, message: 'record deleted', status: 'success' }],
  });
}
