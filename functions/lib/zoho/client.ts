/**
 * The Zoho CRM client: the calls the pipeline makes, each built from checked URL parts (paths.ts),
 * sent through one call engine (call.ts: shared token, pacing, retries) and read into the
 * client's types (answer-data.ts). This file wires those parts and groups the calls by what they
 * touch: a record's files, bulk write, search.
 *
 * Streamed uploads (attachments, photos, bulk ZIPs) are read once: the client owns `file.body`
 * from the call on and destroys it if the call fails. A failure after the first byte was read is
 * thrown, never retried here: 429 → ZohoThrottledError, 5xx → ZohoServerError, a connection lost
 * → ZohoOutcomeUnknownError, and a 401 that is not a scope or permission refusal → the token is
 * replaced and a retryable ZohoServerError says to send the file again. Only a failure before any
 * byte was read (token request, connection refused) is retried with the same stream.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { isObject } from '../json.ts';
import { type Log, silentLog } from '../log.ts';
import {
  bulkJobBody,
  dataOf,
  detailOf,
  firstDetailsId,
  hasMoreRecords,
  isSuccess,
  nextPageToken,
  protocol,
  toAttachmentInfo,
  toBulkWriteJob,
  toFieldFiles,
} from './answer-data.ts';
import { stringOf } from './answer-errors.ts';
import { createTokenProvider } from './auth.ts';
import { type Caller, createCaller, type Reader, readJson } from './call.ts';
import { ZohoRequestError } from './errors.ts';
import type { ZohoHosts } from './hosts.ts';
import { trimSlash } from './hosts.ts';
import { jsonBody } from './http.ts';
import { multipartFileBody } from './multipart.ts';
import { combinePacers, createPacer, type Pacer } from './pacing.ts';
import {
  apiName,
  digits,
  equalsCriteria,
  fieldEquals,
  queryString,
  recordPath,
  segment,
  trustedDownloadUrl,
} from './paths.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, realSleep, type Sleep } from './retry.ts';
import {
  type AccessToken,
  API_VERSION,
  type AttachmentInfo,
  type OAuthCredentials,
  type TokenStore,
  type UploadFile,
  type ZohoClient,
  type ZohoRecord,
} from './types.ts';

export interface ZohoClientOptions {
  hosts: ZohoHosts;
  /** Default `v8`. */
  apiVersion?: string | undefined;
  credentials: OAuthCredentials | (() => Promise<OAuthCredentials>);
  /** Default: in this process only. Give a shared store (DynamoDB) to share tokens across a fleet. */
  tokenStore?: TokenStore | undefined;
  /** Calls in flight at once (default 10: Zoho Standard edition). */
  maxInFlight?: number | undefined;
  /** Optional cap on calls started per sliding minute. */
  callsPerMinute?: number | undefined;
  /** A turn the whole fleet shares (fleet/slots.ts), taken after the container's own. */
  fleetSlots?: Pacer | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  /** Refresh the access token this long before it expires (default 5 minutes). */
  tokenRefreshSkewMs?: number | undefined;
  log?: Log | undefined;
  now?: (() => number) | undefined;
  sleep?: Sleep | undefined;
  /** For back-off jitter; tests pin it. */
  random?: (() => number) | undefined;
  dispatcher?: Dispatcher | undefined;
  /** Told each time this process mints an access token (e.g. to count refreshes). */
  onTokenRefresh?: ((token: { expiresAt: number }) => void) | undefined;
}

/** Zoho's list and search APIs give at most 200 records a page. */
const PER_PAGE = 200;
/** Search answers at most 2,000 records (10 pages of 200); attachments are capped as a safety net (100,000). */
const MAX_SEARCH_PAGES = 10;
const MAX_ATTACHMENT_PAGES = 500;
const ATTACHMENT_FIELDS = 'id,File_Name,Size,Created_Time,$link_url';

/** What every group of calls shares: the call engine, the hosts and the URL builders. */
interface ClientParts {
  caller: Caller;
  hosts: ZohoHosts;
  version: string;
  api: (token: AccessToken, path: string, query?: Record<string, string | number>) => string;
}

export function createZohoClient(options: ZohoClientOptions): ZohoClient {
  const version = options.apiVersion ?? 'v8';
  if (!API_VERSION.test(version)) throw new RangeError(`apiVersion must look like "v8", got "${version}"`);
  const hosts: ZohoHosts = {
    accountsUrl: trimSlash(options.hosts.accountsUrl),
    apiUrl: trimSlash(options.hosts.apiUrl),
    uploadUrl: trimSlash(options.hosts.uploadUrl),
  };
  const parts: ClientParts = {
    caller: createCaller(callerParts(options, hosts)),
    hosts,
    version,
    api: (token, path, query) => `${token.apiDomain}/crm/${version}/${path}${queryString(query)}`,
  };
  return {
    ...recordFileCalls(parts),
    ...fieldFileCalls(parts),
    ...bulkWriteCalls(parts),
    ...searchCalls(parts),
  };
}

/** The token provider, the pacer and the retry policy the call engine runs with. */
function callerParts(options: ZohoClientOptions, hosts: ZohoHosts) {
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const dispatcher = options.dispatcher ?? new Agent();
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...definedOnly(options.retry ?? {}) };
  const tokens = createTokenProvider({
    accountsUrl: hosts.accountsUrl,
    defaultApiDomain: hosts.apiUrl,
    credentials: options.credentials,
    store: options.tokenStore,
    dispatcher,
    refreshSkewMs: options.tokenRefreshSkewMs,
    throttleDelayMs: policy.throttleDelayMs,
    now,
    sleep,
    log,
    onRefresh: options.onTokenRefresh,
  });
  const pacer = combinePacers(
    createPacer({ maxInFlight: options.maxInFlight, callsPerMinute: options.callsPerMinute, now, sleep }),
    options.fleetSlots,
  );
  return { dispatcher, tokens, pacer, policy, log, sleep, random: options.random ?? Math.random };
}

/** A record's attachments and photo. */
function recordFileCalls({ caller, api }: ClientParts) {
  return {
    async uploadAttachment(target, file, callOptions) {
      const path = ownUpload(file, () => recordPath(target));
      const json = await caller.callJson(
        {
          name: 'uploadAttachment',
          method: 'POST',
          url: (t) => api(t, `${path}/Attachments`),
          body: multipartFileBody('file', file),
        },
        callOptions,
      );
      const id = firstDetailsId(json);
      if (!id) throw protocol('uploadAttachment', 'no data[0].details.id in the answer', json);
      return { id };
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
function fieldFileCalls({ caller, api }: ClientParts) {
  return {
    async uploadFieldFile(file, callOptions) {
      const json = await caller.callJson(
        {
          name: 'uploadFieldFile',
          method: 'POST',
          url: (t) => api(t, 'files'),
          body: multipartFileBody('file', file),
        },
        callOptions,
      );
      const fileId = firstDetailsId(json);
      if (!fileId) throw protocol('uploadFieldFile', 'no data[0].details.id in the answer', json);
      return { fileId };
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

/** Bulk write: the org's zgid, the ZIP to the file host, the job, its result. */
function bulkWriteCalls({ caller, hosts, version, api }: ClientParts) {
  const bulkApi = (token: AccessToken, path: string) => `${token.apiDomain}/crm/bulk/${version}/${path}`;
  let zgid: Promise<string> | undefined;

  const getOrgZgid: ZohoClient['getOrgZgid'] = (callOptions) => {
    zgid ??= caller
      .callJson({ name: 'getOrgZgid', method: 'GET', url: (t) => api(t, 'org') }, callOptions)
      .then((json) => {
        const org = isObject(json) && Array.isArray(json.org) ? json.org[0] : undefined;
        const value = isObject(org) ? stringOf(org.zgid) : undefined;
        if (!value) throw protocol('getOrgZgid', 'no org[0].zgid in the answer', json);
        return value;
      });
    const pending = zgid;
    pending.catch(() => {
      if (zgid === pending) zgid = undefined;
    });
    return pending;
  };

  return {
    getOrgZgid,

    async uploadBulkFile(file, callOptions) {
      // Built first: it catches the stream's errors while the zgid is fetched.
      const body = multipartFileBody('file', file);
      let orgId: string;
      try {
        orgId = await getOrgZgid(callOptions);
      } catch (error) {
        body.dispose();
        throw error;
      }
      const json = await caller.callJson(
        {
          name: 'uploadBulkFile',
          method: 'POST',
          url: () => `${hosts.uploadUrl}/crm/${version}/upload`,
          headers: { feature: 'bulk-write', 'X-CRM-ORG': orgId },
          body,
        },
        callOptions,
      );
      const fileId = detailOf(json, 'file_id');
      if (!fileId) throw protocol('uploadBulkFile', 'no details.file_id in the answer', json);
      return { fileId };
    },

    async createBulkWriteJob(spec, callOptions) {
      const body = bulkJobBody(spec);
      const json = await caller.callJson(
        { name: 'createBulkWriteJob', method: 'POST', url: (t) => bulkApi(t, 'write'), body: jsonBody(body) },
        callOptions,
      );
      const jobId = detailOf(json, 'id');
      if (!jobId) throw protocol('createBulkWriteJob', 'no details.id in the answer', json);
      return { jobId };
    },

    async getBulkWriteJob(jobId, callOptions) {
      const id = digits('job id', jobId);
      const json = await caller.callJson(
        { name: 'getBulkWriteJob', method: 'GET', url: (t) => bulkApi(t, `write/${segment(id)}`) },
        callOptions,
      );
      return toBulkWriteJob(id, json);
    },

    async downloadBulkWriteResult(downloadUrl, callOptions) {
      const name = 'downloadBulkWriteResult';
      return caller.execute(
        { name, method: 'GET', url: (t) => trustedDownloadUrl(name, downloadUrl, t, hosts) },
        callOptions,
        streamed(name),
      );
    },
  } satisfies Partial<ZohoClient>;
}

/** Records found by one field's value, re-checked exactly. */
function searchCalls({ caller, api }: ClientParts) {
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

/** Reads a 200 answer as the file, streamed (the pacing turn is held until it is read); any other answer is an error. */
function streamed(name: string): Reader<Readable> {
  return async (incoming, outgoing, keepTurn) => {
    if (incoming.status === 200) {
      const release = keepTurn();
      incoming.body.once('close', release);
      return incoming.body as Readable;
    }
    await readJson(incoming, outgoing);
    throw protocol(name, `answer ${incoming.status} instead of the file`, undefined);
  };
}

/** Validation failures happen before the upload owns the stream: free it, the caller handed it over. */
function ownUpload<T>(file: UploadFile, check: () => T): T {
  try {
    return check();
  } catch (error) {
    file.body.destroy();
    throw error;
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
