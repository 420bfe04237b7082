/**
 * The contract between the Zoho client and everything that uses it. Ids are strings: Zoho's
 * ~19-digit ids do not fit in a JS number.
 */
import type { Readable } from 'node:stream';

/** An access token as minted by the accounts server. */
export interface AccessToken {
  accessToken: string;
  /** The API base to use from now on (the token response's `api_domain`). */
  apiDomain: string;
  /** Epoch milliseconds after which the token must not be used. */
  expiresAt: number;
}

/**
 * Where access tokens live between calls. The in-process store serves one container; a shared
 * store (DynamoDB) serves the whole fleet so that one refresh token mints one access token per
 * expiry, whatever the number of Lambdas (Zoho: at most 10 per 10 minutes, 15 alive).
 */
export interface TokenStore {
  /** The current token, if any (possibly expired: the provider decides). */
  get(): Promise<AccessToken | undefined>;
  /** Save a freshly minted token. */
  put(token: AccessToken): Promise<void>;
  /**
   * Ask for the right to mint: resolves true for at most one caller across the fleet until it
   * calls `put` or the lease (`ttlMs`) runs out. Stores without a fleet to coordinate return true.
   */
  acquireLease(ttlMs: number): Promise<boolean>;
  /** Give the lease back without a token (the mint failed). */
  releaseLease(): Promise<void>;
}

export interface OAuthCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface UploadFile {
  /** The bytes, streamed: never held whole in memory. */
  body: Readable;
  /** The file name Zoho records; non-ASCII names are sent with RFC 5987 `filename*` too. */
  fileName: string;
  /** Exact size in bytes (the S3 object's ContentLength): the request carries an exact Content-Length. */
  size: number;
  contentType?: string;
}

export interface CallOptions {
  /** Aborts the call and its retries (e.g. fires before the Lambda's timeout). */
  signal?: AbortSignal;
}

export interface RecordRef {
  /** API name, e.g. `Leads`, `Notes`, `My_Module__c`. Validated by the client too. */
  module: string;
  /** Digits only. */
  recordId: string;
}

export interface AttachmentInfo {
  id: string;
  fileName: string;
  size: number;
  /** ISO time as Zoho sends it, e.g. `2026-11-23T10:00:00+00:00`. */
  createdTime: string;
  /** A link attachment's URL (`$link_url`). */
  linkUrl?: string;
}

/** A file in a record's file-upload field (crm-oas v8.0 record.json, `FileDetails`). */
export interface FieldFileInfo {
  /** The field attachment's id (`id`): what removing it or downloading it names. */
  id: string;
  /** The ZFS file id it was added with (`File_Id__s`). */
  fileId: string;
  fileName: string;
  size: number;
  createdTime: string;
}

/** What a record's field holds: its files, or a value that is not a file list (not a file-upload field). */
export type FieldFiles = { files: FieldFileInfo[] } | { notFiles: true };

export type BulkOperation = 'insert' | 'update' | 'upsert';

export const BULK_OPERATIONS: readonly BulkOperation[] = ['insert', 'update', 'upsert'];

/** A module or field API name: a letter, then letters, digits or _ (`Leads`, `My_Module__c`). */
export const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** A Zoho id (record, attachment, file, job): digits, 19 today (4876876000000624001); up to 30 taken. */
export const ZOHO_ID = /^\d{1,30}$/;

/**
 * A version in Zoho's API paths: v2, v2.1, v3 ... v8
 * (https://www.zoho.com/crm/developer/docs/api/v2.1/change-log.html).
 */
export const API_VERSION = /^v\d+(\.\d+)?$/;

/**
 * One of a resource's `field_mappings`: every key Zoho takes (crm-oas v8.0 bulk_write.json,
 * `Resource.field_mappings[]`; the TypeScript SDK 8.0's bulk_write/field_mapping.ts).
 */
export interface FieldMapping {
  api_name: string;
  /** Column of the CSV (0-based) holding this field. */
  index?: number;
  /** e.g. a date format. */
  format?: string;
  /** For a lookup field: the field of the looked-up module that identifies it. */
  find_by?: string;
  /** The value for rows that have none, or for a field no column holds. */
  default_value?: DefaultValue;
  /** For a lookup field: the module whose `find_by` field identifies the record. */
  module?: string;
  /** A child resource's link: the parent CSV's column whose value this column repeats. */
  parent_column_index?: number;
}

/** crm-oas v8.0 bulk_write.json `default_value`: `name`, `module`, `value`. */
export interface DefaultValue {
  name?: string;
  module?: string;
  value?: unknown;
}

/**
 * A bulk write job's resource, its keys as Zoho spells them (crm-oas v8.0 bulk_write.json
 * `Resource`); the client adds `type: "data"` and sends `module` as `{"api_name": …}`.
 */
export interface BulkWriteResource {
  /** The module's API name. */
  module: string;
  file_id: string;
  /** The CSV of this resource inside the uploaded ZIP: needed when it holds several. */
  file_names?: string[];
  /** The unique field that identifies the record (update, upsert). */
  find_by?: string;
  field_mappings?: FieldMapping[];
}

/** A bulk write job, its keys as Zoho spells them (crm-oas v8.0 bulk_write.json `Request_Wrapper`). */
export interface BulkWriteJobSpec {
  operation: BulkOperation;
  ignore_empty?: boolean;
  resource: BulkWriteResource[];
}

/** The four Zoho documents; others (`SKIPPED`, later ones) come through as sent, upper case. */
export type BulkJobStatus = 'ADDED' | 'IN PROGRESS' | 'COMPLETED' | 'FAILED' | (string & {});

export interface BulkJobCounts {
  added: number;
  updated: number;
  skipped: number;
  total: number;
}

export interface BulkWriteJob {
  id: string;
  status: BulkJobStatus;
  /** Per resource, in the order they were created. */
  resources: Array<{ module: string; status: string; counts: BulkJobCounts }>;
  /** Present when the job is done: a ZIP holding one CSV with STATUS, RECORD_ID, ERRORS per row. */
  downloadUrl?: string;
}

export interface SearchQuery {
  module: string;
  /** Field API name; `Email` is searched with `email=`, others with an escaped `criteria`. */
  field: string;
  value: string;
}

export interface ZohoRecord {
  id: string;
  [field: string]: unknown;
}

export interface ZohoClient {
  uploadAttachment(target: RecordRef, file: UploadFile, options?: CallOptions): Promise<{ id: string }>;
  listAttachments(target: RecordRef, options?: CallOptions): Promise<AttachmentInfo[]>;
  /** A link attachment (`attachmentUrl`, `title`). */
  attachLink(
    target: RecordRef,
    link: { url: string; title: string },
    options?: CallOptions,
  ): Promise<{ id: string }>;
  /** A file attachment's bytes, streamed (`GET …/Attachments/{id}`). */
  downloadAttachment(target: RecordRef, attachmentId: string, options?: CallOptions): Promise<Readable>;
  uploadPhoto(
    target: RecordRef,
    file: UploadFile,
    options?: CallOptions & { restrictTriggers?: boolean },
  ): Promise<void>;
  /** A file to Zoho's file store (ZFS, `POST /crm/{v}/files`): its id goes into a file-upload field. */
  uploadFieldFile(file: UploadFile, options?: CallOptions): Promise<{ fileId: string }>;
  /** What the record's field holds (`GET /crm/{v}/{module}/{id}?fields={field}`). */
  getFieldFiles(target: RecordRef, field: string, options?: CallOptions): Promise<FieldFiles>;
  /** Adds ZFS files to the record's file-upload field; the files already there stay. */
  addFieldFiles(target: RecordRef, field: string, fileIds: string[], options?: CallOptions): Promise<void>;
  /** A field file's bytes (`GET …/{id}/actions/download_fields_attachment?fields_attachment_id=`). */
  downloadFieldFile(target: RecordRef, fieldFileId: string, options?: CallOptions): Promise<Readable>;
  /** The org's zgid (`GET /crm/{v}/org` → `org[0].zgid`), fetched once and kept. */
  getOrgZgid(options?: CallOptions): Promise<string>;
  uploadBulkFile(file: UploadFile, options?: CallOptions): Promise<{ fileId: string }>;
  createBulkWriteJob(spec: BulkWriteJobSpec, options?: CallOptions): Promise<{ jobId: string }>;
  getBulkWriteJob(jobId: string, options?: CallOptions): Promise<BulkWriteJob>;
  /** The result ZIP of a finished job, streamed. */
  downloadBulkWriteResult(downloadUrl: string, options?: CallOptions): Promise<Readable>;
  /** Records whose field equals the value exactly (Zoho's match is re-checked). */
  searchRecords(query: SearchQuery, options?: CallOptions): Promise<ZohoRecord[]>;
}
