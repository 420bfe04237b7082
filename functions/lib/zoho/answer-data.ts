/**
 * What Zoho's successful answers hold, read into the client's types (answer-errors.ts finds the
 * error an answer holds), and the bulk write job's body. An answer that is not the documented
 * shape is a ZohoProtocolError carrying the answer cut short.
 */
import { isObject } from '../json.ts';
import { findFault, stringOf } from './answer-errors.ts';
import { ZohoProtocolError, ZohoRequestError } from './errors.ts';
import { apiName } from './paths.ts';
import {
  type AttachmentInfo,
  BULK_OPERATIONS,
  type BulkJobCounts,
  type BulkJobStatus,
  type BulkWriteJob,
  type BulkWriteJobSpec,
  type FieldFiles,
} from './types.ts';

/** The job as Zoho takes it: the spec's keys go as they are, checked. */
export function bulkJobBody(spec: BulkWriteJobSpec): Record<string, unknown> {
  if (!BULK_OPERATIONS.includes(spec.operation)) {
    throw new ZohoRequestError(`Invalid bulk write operation ${JSON.stringify(spec.operation)}`);
  }
  if (spec.resource.length === 0) throw new ZohoRequestError('A bulk write job needs at least one resource');
  return {
    ...spec,
    resource: spec.resource.map((resource) => {
      if (!resource.file_id) throw new ZohoRequestError('A bulk write resource needs the uploaded file id');
      if (resource.find_by !== undefined) apiName('find_by field', resource.find_by);
      return { type: 'data', ...resource, module: { api_name: apiName('module', resource.module) } };
    }),
  };
}

export function toBulkWriteJob(id: string, json: unknown): BulkWriteJob {
  const job = isObject(json) && Array.isArray(json.data) && isObject(json.data[0]) ? json.data[0] : json;
  if (!isObject(job)) throw protocol('getBulkWriteJob', 'the answer is not a job', json);
  const status = bulkStatus(job.status);
  if (!status) throw protocol('getBulkWriteJob', `no job status in ${JSON.stringify(job.status)}`, json);
  const resources = (Array.isArray(job.resource) ? job.resource : []).filter(isObject).map((resource) => {
    const module = isObject(resource.module)
      ? (stringOf(resource.module.api_name) ?? stringOf(resource.module.name) ?? '')
      : (stringOf(resource.module) ?? '');
    const file = isObject(resource.file) ? resource.file : {};
    const counts: BulkJobCounts = {
      added: count(file.added_count),
      updated: count(file.updated_count),
      skipped: count(file.skipped_count),
      total: count(file.total_count),
    };
    return { module, status: stringOf(resource.status) ?? stringOf(file.status) ?? '', counts };
  });
  const downloadUrl = isObject(job.result) ? stringOf(job.result.download_url) : undefined;
  return { id: stringOf(job.id) ?? id, status, resources, ...(downloadUrl ? { downloadUrl } : {}) };
}

/**
 * The job's status, upper case with Zoho's two spellings of one status made one (`INPROGRESS`
 * in the OpenAPI examples, `IN PROGRESS` in the docs). A status not known here (`SKIPPED`, or one
 * Zoho adds later) is kept as sent: the caller decides what it means.
 */
function bulkStatus(value: unknown): BulkJobStatus | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const text = value.trim().toUpperCase().replace(/[_ ]+/g, ' ');
  return text === 'INPROGRESS' ? 'IN PROGRESS' : text;
}

function count(value: unknown): number {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : 0;
}

export function toAttachmentInfo(item: unknown): AttachmentInfo {
  const id = isObject(item) ? stringOf(item.id) : undefined;
  if (!isObject(item) || !id) throw protocol('listAttachments', 'an attachment without an id', item);
  const linkUrl = stringOf(item.$link_url);
  return {
    id,
    fileName: stringOf(item.File_Name) ?? '',
    size: count(item.Size),
    createdTime: stringOf(item.Created_Time) ?? '',
    ...(linkUrl ? { linkUrl } : {}),
  };
}

/** A record's file-upload field as Zoho sends it (crm-oas v8.0 record.json, `FileDetails`). */
export function toFieldFiles(value: unknown): FieldFiles {
  if (value === null || value === undefined) return { files: [] };
  // A multi-select picklist is a list too, of strings: only a list of file details is one of files.
  const isFile = (item: unknown) =>
    isObject(item) && stringOf(item.id) !== undefined && 'File_Name__s' in item;
  if (!Array.isArray(value) || !value.every(isFile)) return { notFiles: true };
  const files = (value as Record<string, unknown>[]).map((item) => ({
    id: stringOf(item.id) ?? '',
    fileId: stringOf(item.File_Id__s) ?? '',
    fileName: stringOf(item.File_Name__s) ?? '',
    size: count(item.Size__s),
    createdTime: stringOf(item.Created_Time__s) ?? '',
  }));
  return { files };
}

export function dataOf(json: unknown): unknown[] {
  if (json === undefined) return [];
  if (!isObject(json) || !Array.isArray(json.data))
    throw protocol('list', 'no data array in the answer', json);
  return json.data;
}

/** `data[0].details.id` of a record-API answer (an attachment, a record update). */
export function firstDetailsId(json: unknown): string | undefined {
  const first = isObject(json) && Array.isArray(json.data) ? json.data[0] : undefined;
  return isObject(first) && isObject(first.details) ? stringOf(first.details.id) : undefined;
}

/** `details.{key}` of a flat answer (bulk upload, bulk job), as a string. */
export function detailOf(json: unknown, key: string): string | undefined {
  return isObject(json) && isObject(json.details) ? stringOf(json.details[key]) : undefined;
}

export function hasMoreRecords(json: unknown): boolean {
  return isObject(json) && isObject(json.info) && json.info.more_records === true;
}

/** `info.next_page_token`: where a list goes on past the 2,000 records `page` reaches. */
export function nextPageToken(json: unknown): string | undefined {
  return isObject(json) && isObject(json.info) ? stringOf(json.info.next_page_token) : undefined;
}

export function isSuccess(json: unknown): boolean {
  if (!isObject(json)) return false;
  if (json.status === 'success' || json.code === 'SUCCESS') return true;
  const first = Array.isArray(json.data) ? json.data[0] : undefined;
  return isObject(first) && (first.status === 'success' || first.code === 'SUCCESS') && !findFault(json);
}

/** The answer travels along cut short: enough to see what came back, not a page of records. */
export function protocol(call: string, what: string, answer: unknown): ZohoProtocolError {
  const text = answer === undefined ? undefined : JSON.stringify(answer);
  return new ZohoProtocolError(`${call}: ${what}`, { details: text && { answer: text.slice(0, 300) } });
}
