/**
 * The Zoho CRM client: each call validates what goes into its URL, takes a shared access token,
 * waits for its turn (pacing), sends once, reads Zoho's answer whatever its envelope, and is sent
 * again only when Zoho cannot have done it (see retry.ts). A 401 INVALID_TOKEN refreshes the
 * token once (unless another caller already did) and sends the call once more.
 *
 * Streamed uploads (attachments, photos, bulk ZIPs) are read once: the client owns `file.body`
 * from the call on and destroys it if the call fails. A failure after the first byte was read is
 * thrown, never retried here: 429 → ZohoThrottledError, 5xx → ZohoServerError, a connection lost
 * → ZohoOutcomeUnknownError, and a 401 INVALID_TOKEN → the token is replaced and a retryable
 * ZohoServerError (code INVALID_TOKEN) says to send the file again. Only a failure before any
 * byte was read (token request, connection refused) is retried with the same stream.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { isObject } from '../json.ts';
import { type Log, silentLog } from '../log.ts';
import { findFault, parseAnswer, stringOf } from './answers.ts';
import { createTokenProvider } from './auth.ts';
import {
  isZohoError,
  ZohoAuthError,
  ZohoProtocolError,
  ZohoRequestError,
  ZohoServerError,
} from './errors.ts';
import { combinePacers } from './fleet-slots.ts';
import type { ZohoHosts } from './hosts.ts';
import { trimSlash } from './hosts.ts';
import { type Incoming, jsonBody, type Outgoing, type RequestBody, readText, send } from './http.ts';
import { multipartFileBody } from './multipart.ts';
import { createPacer, type Pacer } from './pacing.ts';
import {
  type CallPhase,
  DEFAULT_RETRY_POLICY,
  deadlineError,
  decideRetry,
  type RetryPolicy,
  realSleep,
  type Sleep,
  sleepWithin,
} from './retry.ts';
import type {
  AccessToken,
  AttachmentInfo,
  BulkJobCounts,
  BulkJobStatus,
  BulkWriteJob,
  BulkWriteJobSpec,
  CallOptions,
  OAuthCredentials,
  RecordRef,
  TokenStore,
  UploadFile,
  ZohoClient,
  ZohoRecord,
} from './types.ts';
import { API_NAME, API_VERSION, BULK_OPERATIONS } from './types.ts';

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
  /** A turn the whole fleet shares (fleet-slots.ts), taken after the container's own. */
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

const DIGITS = /^\d+$/;
/** Zoho's list and search APIs give at most 200 records a page. */
const PER_PAGE = 200;
/** Search answers at most 2,000 records (10 pages of 200); attachments are capped as a safety net. */
const MAX_SEARCH_PAGES = 10;
const MAX_ATTACHMENT_PAGES = 50;
const ATTACHMENT_FIELDS = 'id,File_Name,Size,Created_Time';
/** Hosts a download URL may point at before our access token goes with it: Zoho's domains in its DCs' TLDs. */
const ZOHO_HOST = /(^|\.)zoho(apis|cloud|public)?\.(com|eu|in|com\.au|jp|ca|sa|com\.cn)$/i;

interface CallSpec {
  /** For logs. */
  name: string;
  method: 'GET' | 'POST';
  url: (token: AccessToken) => string;
  headers?: Record<string, string>;
  body?: RequestBody;
}

/** Reads an answer; `keepTurn` hands the pacing turn over (for a streamed answer). */
type Reader<T> = (incoming: Incoming, outgoing: Outgoing, keepTurn: () => () => void) => Promise<T>;

export function createZohoClient(options: ZohoClientOptions): ZohoClient {
  const version = options.apiVersion ?? 'v8';
  if (!API_VERSION.test(version)) throw new RangeError(`apiVersion must look like "v8", got "${version}"`);
  const hosts: ZohoHosts = {
    accountsUrl: trimSlash(options.hosts.accountsUrl),
    apiUrl: trimSlash(options.hosts.apiUrl),
    uploadUrl: trimSlash(options.hosts.uploadUrl),
  };
  const log = options.log ?? silentLog;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
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

  const api = (token: AccessToken, path: string, query?: Record<string, string | number>) =>
    `${token.apiDomain}/crm/${version}/${path}${queryString(query)}`;
  const bulkApi = (token: AccessToken, path: string) => `${token.apiDomain}/crm/bulk/${version}/${path}`;

  async function execute<T>(
    spec: CallSpec,
    callOptions: CallOptions | undefined,
    read: Reader<T>,
  ): Promise<T> {
    const signal = callOptions?.signal;
    let refusedToken: AccessToken | undefined;
    let tokenReplaced = false;
    let lastError: unknown;
    try {
      for (let attempt = 1; ; attempt += 1) {
        if (signal?.aborted) throw deadlineError(signal, lastError);
        let phase: CallPhase = 'token';
        let token: AccessToken | undefined;
        try {
          token = refusedToken ? await tokens.replace(refusedToken, signal) : await tokens.current(signal);
          refusedToken = undefined;
          phase = 'call';
          return await attemptOnce(spec, token, signal, read);
        } catch (error) {
          lastError = error;
          if (phase === 'call' && token && !tokenReplaced && isTokenRefused(error)) {
            tokenReplaced = true;
            if (!spec.body || spec.body.canResend()) {
              refusedToken = token;
              attempt -= 1; // a refused token is not one of the call's attempts
              continue;
            }
            await tokens.replace(token, signal).catch(() => undefined);
            throw new ZohoServerError(
              `${spec.name}: Zoho refused the access token during a streamed upload; a new token is in place, send the file again`,
              {
                zohoCode: error.zohoCode ?? 'INVALID_TOKEN',
                status: error.status,
                details: error.details,
                cause: error,
              },
            );
          }
          const canResend = spec.body ? spec.body.canResend() : true;
          const decision = decideRetry(policy, { error, phase, attempt, canResend }, random);
          if (!decision.retry) throw error;
          log.warn('Zoho call failed; sending it again', {
            call: spec.name,
            attempt,
            delayMs: decision.delayMs,
            error: isZohoError(error) ? error.toJSON() : String(error),
          });
          await sleepWithin(sleep, decision.delayMs, signal, error);
        }
      }
    } finally {
      spec.body?.dispose();
    }
  }

  async function attemptOnce<T>(
    spec: CallSpec,
    token: AccessToken,
    signal: AbortSignal | undefined,
    read: Reader<T>,
  ): Promise<T> {
    const url = spec.url(token);
    const release = await pacer.acquire(signal);
    let turnKept = false;
    try {
      const outgoing: Outgoing = {
        method: spec.method,
        url,
        headers: { ...spec.headers, authorization: `Zoho-oauthtoken ${token.accessToken}` },
        body: spec.body,
        signal,
      };
      const incoming = await send(dispatcher, outgoing);
      return await read(incoming, outgoing, () => {
        turnKept = true;
        return release;
      });
    } finally {
      if (!turnKept) release();
    }
  }

  async function readJson(incoming: Incoming, outgoing: Outgoing): Promise<unknown> {
    const text = await readText(incoming, outgoing);
    return parseAnswer({ status: incoming.status, headers: incoming.headers, text });
  }

  const callJson = (spec: CallSpec, callOptions: CallOptions | undefined) =>
    execute(spec, callOptions, readJson);

  let zgid: Promise<string> | undefined;

  const client: ZohoClient = {
    async uploadAttachment(target, file, callOptions) {
      const path = ownUpload(file, () => recordPath(target));
      const json = await callJson(
        {
          name: 'uploadAttachment',
          method: 'POST',
          url: (t) => api(t, `${path}/Attachments`),
          body: multipartFileBody('file', file),
        },
        callOptions,
      );
      const first = isObject(json) && Array.isArray(json.data) ? json.data[0] : undefined;
      const id = isObject(first) && isObject(first.details) ? stringOf(first.details.id) : undefined;
      if (!id) throw protocol('uploadAttachment', 'no data[0].details.id in the answer', json);
      return { id };
    },

    async listAttachments(target, callOptions) {
      const path = recordPath(target);
      const found: AttachmentInfo[] = [];
      for (let page = 1; page <= MAX_ATTACHMENT_PAGES; page += 1) {
        const json = await callJson(
          {
            name: 'listAttachments',
            method: 'GET',
            url: (t) =>
              api(t, `${path}/Attachments`, { fields: ATTACHMENT_FIELDS, page, per_page: PER_PAGE }),
          },
          callOptions,
        );
        const data = dataOf(json);
        found.push(...data.map(toAttachmentInfo));
        if (!hasMoreRecords(json) || data.length === 0) break;
      }
      return found;
    },

    async uploadPhoto(target, file, callOptions) {
      const path = ownUpload(file, () => recordPath(target));
      const query = callOptions?.restrictTriggers ? { restrict_triggers: 'workflow' } : undefined;
      const json = await callJson(
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

    getOrgZgid(callOptions) {
      zgid ??= callJson({ name: 'getOrgZgid', method: 'GET', url: (t) => api(t, 'org') }, callOptions).then(
        (json) => {
          const org = isObject(json) && Array.isArray(json.org) ? json.org[0] : undefined;
          const value = isObject(org) ? stringOf(org.zgid) : undefined;
          if (!value) throw protocol('getOrgZgid', 'no org[0].zgid in the answer', json);
          return value;
        },
      );
      const pending = zgid;
      pending.catch(() => {
        if (zgid === pending) zgid = undefined;
      });
      return pending;
    },

    async uploadBulkFile(file, callOptions) {
      // Built first: it catches the stream's errors while the zgid is fetched.
      const body = multipartFileBody('file', file);
      let orgId: string;
      try {
        orgId = await client.getOrgZgid(callOptions);
      } catch (error) {
        body.dispose();
        throw error;
      }
      const json = await callJson(
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
      const json = await callJson(
        { name: 'createBulkWriteJob', method: 'POST', url: (t) => bulkApi(t, 'write'), body: jsonBody(body) },
        callOptions,
      );
      const jobId = detailOf(json, 'id');
      if (!jobId) throw protocol('createBulkWriteJob', 'no details.id in the answer', json);
      return { jobId };
    },

    async getBulkWriteJob(jobId, callOptions) {
      const id = digits('job id', jobId);
      const json = await callJson(
        { name: 'getBulkWriteJob', method: 'GET', url: (t) => bulkApi(t, `write/${segment(id)}`) },
        callOptions,
      );
      return toBulkWriteJob(id, json);
    },

    async downloadBulkWriteResult(downloadUrl, callOptions) {
      return execute(
        { name: 'downloadBulkWriteResult', method: 'GET', url: (t) => resultUrl(downloadUrl, t) },
        callOptions,
        async (incoming, outgoing, keepTurn) => {
          if (incoming.status === 200) {
            const release = keepTurn();
            incoming.body.once('close', release);
            return incoming.body as Readable;
          }
          await readJson(incoming, outgoing);
          throw protocol(
            'downloadBulkWriteResult',
            `answer ${incoming.status} instead of the file`,
            undefined,
          );
        },
      );
    },

    async searchRecords(query, callOptions) {
      const module = apiName('module', query.module);
      const field = apiName('field', query.field);
      if (query.value === '') throw new ZohoRequestError('searchRecords: the value to search for is empty');
      const params =
        field === 'Email' ? { email: query.value } : { criteria: equalsCriteria(field, query.value) };
      const records: ZohoRecord[] = [];
      for (let page = 1; page <= MAX_SEARCH_PAGES; page += 1) {
        const json = await callJson(
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
  };

  function resultUrl(downloadUrl: string, token: AccessToken): string {
    const url = new URL(downloadUrl, `${token.apiDomain}/`);
    const trusted = [token.apiDomain, hosts.apiUrl, hosts.uploadUrl, hosts.accountsUrl].some(
      (base) => new URL(base).origin === url.origin,
    );
    if (!trusted && !(url.protocol === 'https:' && ZOHO_HOST.test(url.hostname))) {
      throw new ZohoRequestError(
        `downloadBulkWriteResult: ${url.origin} is not a Zoho host; the access token is not sent there`,
      );
    }
    return url.href;
  }

  return client;
}

/** `{module}/{recordId}` after checking both: nothing unchecked goes into a URL. */
export function recordPath(target: RecordRef): string {
  return `${segment(apiName('module', target.module))}/${segment(digits('record id', target.recordId))}`;
}

function apiName(what: string, value: string): string {
  if (typeof value !== 'string' || !API_NAME.test(value)) {
    throw new ZohoRequestError(
      `Invalid ${what} ${JSON.stringify(value)}: an API name is letters, digits and _, starting with a letter`,
    );
  }
  return value;
}

function digits(what: string, value: string): string {
  if (typeof value !== 'string' || !DIGITS.test(value)) {
    throw new ZohoRequestError(`Invalid ${what} ${JSON.stringify(value)}: Zoho ids are digits only`);
  }
  return value;
}

/** Checked values need no encoding; encoding anyway keeps a future slip harmless. */
function segment(value: string): string {
  return strictEncode(value);
}

/** encodeURIComponent plus `!'()*`, which it leaves alone. */
export function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function queryString(query: Record<string, string | number> | undefined): string {
  if (!query) return '';
  const pairs = Object.entries(query).map(
    ([key, value]) => `${strictEncode(key)}=${strictEncode(String(value))}`,
  );
  return pairs.length > 0 ? `?${pairs.join('&')}` : '';
}

/** `(Field:equals:value)` with `\`, `(`, `)` and `,` backslash-escaped (Zoho's criteria syntax). */
export function equalsCriteria(field: string, value: string): string {
  return `(${field}:equals:${value.replace(/[\\(),]/g, '\\$&')})`;
}

/** Zoho v8's `equals` can match like "contains": keep only exact matches (emails case-insensitively). */
export function fieldEquals(actual: unknown, expected: string, caseInsensitive: boolean): boolean {
  if (typeof actual !== 'string' && typeof actual !== 'number' && typeof actual !== 'boolean') return false;
  const text = String(actual);
  return caseInsensitive ? text.toLowerCase() === expected.toLowerCase() : text === expected;
}

function bulkJobBody(spec: BulkWriteJobSpec): Record<string, unknown> {
  if (!BULK_OPERATIONS.includes(spec.operation)) {
    throw new ZohoRequestError(`Invalid bulk write operation ${JSON.stringify(spec.operation)}`);
  }
  if (spec.resources.length === 0) throw new ZohoRequestError('A bulk write job needs at least one resource');
  return {
    operation: spec.operation,
    ...(spec.ignoreEmpty === undefined ? {} : { ignore_empty: spec.ignoreEmpty }),
    resource: spec.resources.map((resource) => {
      if (!resource.fileId) throw new ZohoRequestError('A bulk write resource needs the uploaded file id');
      return {
        type: 'data',
        module: { api_name: apiName('module', resource.module) },
        file_id: resource.fileId,
        ...(resource.fileNames ? { file_names: resource.fileNames } : {}),
        ...(resource.findBy ? { find_by: apiName('find_by field', resource.findBy) } : {}),
        ...(resource.fieldMappings ? { field_mappings: resource.fieldMappings } : {}),
      };
    }),
  };
}

function toBulkWriteJob(id: string, json: unknown): BulkWriteJob {
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

function toAttachmentInfo(item: unknown): AttachmentInfo {
  const id = isObject(item) ? stringOf(item.id) : undefined;
  if (!isObject(item) || !id) throw protocol('listAttachments', 'an attachment without an id', item);
  return {
    id,
    fileName: stringOf(item.File_Name) ?? '',
    size: count(item.Size),
    createdTime: stringOf(item.Created_Time) ?? '',
  };
}

function dataOf(json: unknown): unknown[] {
  if (json === undefined) return [];
  if (!isObject(json) || !Array.isArray(json.data))
    throw protocol('list', 'no data array in the answer', json);
  return json.data;
}

/** `details.{key}` of a flat answer (bulk upload, bulk job), as a string. */
function detailOf(json: unknown, key: string): string | undefined {
  return isObject(json) && isObject(json.details) ? stringOf(json.details[key]) : undefined;
}

function hasMoreRecords(json: unknown): boolean {
  return isObject(json) && isObject(json.info) && json.info.more_records === true;
}

function isSuccess(json: unknown): boolean {
  if (!isObject(json)) return false;
  if (json.status === 'success' || json.code === 'SUCCESS') return true;
  const first = Array.isArray(json.data) ? json.data[0] : undefined;
  return isObject(first) && (first.status === 'success' || first.code === 'SUCCESS') && !findFault(json);
}

/** 401 INVALID_TOKEN (or a bare 401): the token was refused, not the credentials. */
function isTokenRefused(error: unknown): error is ZohoAuthError {
  return (
    error instanceof ZohoAuthError &&
    error.status === 401 &&
    (error.zohoCode === 'INVALID_TOKEN' || error.zohoCode === undefined)
  );
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

/** The answer travels along cut short: enough to see what came back, not a page of records. */
function protocol(call: string, what: string, answer: unknown): ZohoProtocolError {
  const text = answer === undefined ? undefined : JSON.stringify(answer);
  return new ZohoProtocolError(`${call}: ${what}`, { details: text && { answer: text.slice(0, 300) } });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
