/**
 * The client's calls on one record: its attachments and photo, its file-upload fields, and the
 * search that finds records by a field's value.
 */
import { isObject } from '../json.ts';
import {
  dataOf,
  firstDetailsId,
  hasMoreRecords,
  isSuccess,
  nextPageToken,
  protocol,
  toAttachmentInfo,
  toFieldFiles,
} from './answer-data.ts';
import { stringOf } from './answer-errors.ts';
import { type ClientParts, ownUpload, PER_PAGE, streamed, uploadForId } from './client-parts.ts';
import { ZohoRequestError } from './errors.ts';
import { jsonBody } from './http.ts';
import { multipartFileBody } from './multipart.ts';
import { apiName, digits, equalsCriteria, fieldEquals, recordPath, segment } from './paths.ts';
import type { AccessToken, AttachmentInfo, ZohoClient, ZohoRecord } from './types.ts';

/** Search answers at most 2,000 records (10 pages of 200); attachments are capped as a safety net (100,000). */
const MAX_SEARCH_PAGES = 10;
const MAX_ATTACHMENT_PAGES = 500;
const ATTACHMENT_FIELDS = 'id,File_Name,Size,Created_Time,$link_url';

/** A record's attachments and photo. */
export function recordFileCalls({ caller, api }: ClientParts) {
  return {
    async uploadAttachment(target, file, callOptions) {
      const path = ownUpload(file, () => recordPath(target));
      const url = (t: AccessToken) => api(t, `${path}/Attachments`);
      return { id: await uploadForId(caller, { name: 'uploadAttachment', url }, file, callOptions) };
    },

    async attachLink(target, link, callOptions) {
      const path = recordPath(target);
      // crm-oas v8.0 attachments.json: `attachmentUrl` and `title` are query parameters.
      const query = { attachmentUrl: link.url, title: link.title };
      const json = await caller.callJson(
        { name: 'attachLink', method: 'POST', url: (t) => api(t, `${path}/Attachments`, query) },
        callOptions,
      );
      const id = firstDetailsId(json);
      if (!id) throw protocol('attachLink', 'no data[0].details.id in the answer', json);
      return { id };
    },

    async listAttachments(target, callOptions) {
      const path = recordPath(target);
      const found: AttachmentInfo[] = [];
      // `page` reaches 2,000 records; past them Zoho's `next_page_token` leads on.
      let next: Record<string, string | number> = { page: 1 };
      for (let pages = 1; pages <= MAX_ATTACHMENT_PAGES; pages += 1) {
        const query = { fields: ATTACHMENT_FIELDS, ...next, per_page: PER_PAGE };
        const json = await caller.callJson(
          { name: 'listAttachments', method: 'GET', url: (t) => api(t, `${path}/Attachments`, query) },
          callOptions,
        );
        const data = dataOf(json);
        found.push(...data.map(toAttachmentInfo));
        if (!hasMoreRecords(json) || data.length === 0) break;
        const token = nextPageToken(json);
        next = token ? { page_token: token } : { page: Number(next.page ?? pages) + 1 };
      }
      return found;
    },

    async downloadAttachment(target, attachmentId, callOptions) {
      const path = `${recordPath(target)}/Attachments/${segment(digits('attachment id', attachmentId))}`;
      const name = 'downloadAttachment';
      return caller.execute({ name, method: 'GET', url: (t) => api(t, path) }, callOptions, streamed(name));
    },

    async uploadPhoto(target, file, callOptions) {
      const path = ownUpload(file, () => recordPath(target));
      const query = callOptions?.restrictTriggers ? { restrict_triggers: 'workflow' } : undefined;
      const json = await caller.callJson(
        {
          name: 'uploadPhoto',
          method: 'POST',
          url: (t) => api(t, `${path}/photo`, query),
          body: multipartFileBody('file', file),
        },
        callOptions,
      );
      if (!isSuccess(json)) throw protocol('uploadPhoto', 'the answer does not say SUCCESS', json);
    },
  } satisfies Partial<ZohoClient>;
}

/**
 * A record's file-upload field: the file goes to Zoho's file store (ZFS) first (files.json), then
 * into the field as `{"File_Id__s": …}` (crm-oas v8.0 record.json `FileDetails`, as the SDK 8.0's
 * record/file_details.ts sends it). ⚠ That the files already there stay, no Zoho source says.
 */
export function fieldFileCalls({ caller, api }: ClientParts) {
  return {
    async uploadFieldFile(file, callOptions) {
      const url = (t: AccessToken) => api(t, 'files');
      return { fileId: await uploadForId(caller, { name: 'uploadFieldFile', url }, file, callOptions) };
    },

    async getFieldFiles(target, field, callOptions) {
      const path = recordPath(target);
      const query = { fields: apiName('field', field) };
      const json = await caller.callJson(
        { name: 'getFieldFiles', method: 'GET', url: (t) => api(t, path, query) },
        callOptions,
      );
      const record = dataOf(json)[0];
      if (!isObject(record)) throw protocol('getFieldFiles', 'no data[0] in the answer', json);
      return toFieldFiles(record[field]);
    },

    async addFieldFiles(target, field, fileIds, callOptions) {
      const path = recordPath(target);
      const files = fileIds.map((id) => ({ File_Id__s: id }));
      const body = jsonBody({ data: [{ [apiName('field', field)]: files }] });
      const json = await caller.callJson(
        { name: 'addFieldFiles', method: 'PUT', url: (t) => api(t, path), body },
        callOptions,
      );
      if (!isSuccess(json)) throw protocol('addFieldFiles', 'the answer does not say SUCCESS', json);
    },

    async downloadFieldFile(target, fieldFileId, callOptions) {
      const path = `${recordPath(target)}/actions/download_fields_attachment`;
      const query = { fields_attachment_id: digits('field file id', fieldFileId) };
      const name = 'downloadFieldFile';
      return caller.execute(
        { name, method: 'GET', url: (t) => api(t, path, query) },
        callOptions,
        streamed(name),
      );
    },
  } satisfies Partial<ZohoClient>;
}

/** Records found by one field's value, re-checked exactly. */
export function searchCalls({ caller, api }: ClientParts) {
  return {
    async searchRecords(query, callOptions) {
      const module = apiName('module', query.module);
      const field = apiName('field', query.field);
      if (query.value === '') throw new ZohoRequestError('searchRecords: the value to search for is empty');
      const params =
        field === 'Email' ? { email: query.value } : { criteria: equalsCriteria(field, query.value) };
      const records: ZohoRecord[] = [];
      for (let page = 1; page <= MAX_SEARCH_PAGES; page += 1) {
        const json = await caller.callJson(
          {
            name: 'searchRecords',
            method: 'GET',
            url: (t) => api(t, `${segment(module)}/search`, { ...params, page, per_page: PER_PAGE }),
          },
          callOptions,
        );
        const data = dataOf(json);
        for (const item of data) {
          const id = isObject(item) ? stringOf(item.id) : undefined;
          if (isObject(item) && id) records.push({ ...item, id });
        }
        if (!hasMoreRecords(json) || data.length === 0) break;
      }
      return records.filter((record) => fieldEquals(record[field], query.value, field === 'Email'));
    },
  } satisfies Partial<ZohoClient>;
}
