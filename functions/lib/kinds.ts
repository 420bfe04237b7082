/**
 * The kinds of push, one record each: where a kind's files arrive, which entry handles them, and
 * what its function and queue are given. The functions, the stack (infra/), `npm start`
 * (tools/local/), the operator commands and the benches read these records; none keeps its own
 * table. Free of CDK imports. Adding a kind is one record here plus its entry
 * (`functions/<folder>/index.ts`) and its pusher.
 */

export interface KindRecord {
  /** The key prefix its default routes read and the stack watches (the construct's `prefix` replaces it). */
  readonly prefix: string;
  /**
   * Prefixes its function watches besides its own, whatever the routes: files for a record's
   * file-upload field go through the attachment function (`fields/{module}/{recordId}/{fieldApiName}/{fileName}`).
   */
  readonly extraPrefixes: readonly string[];
  /**
   * Only keys ending with this get an event. None by default: S3 filters suffixes case-sensitively,
   * and a file left without an event would be left without a word; the functions refuse what they
   * cannot push, with a reason (bulk-write takes `.zip` and `.csv` in any case, NOT_A_ZIP otherwise).
   */
  readonly suffix: string | undefined;
  /** The folder under functions/ holding its entry; also its queue's and function's name locally. */
  readonly folder: string;
  /** Its construct id and the start of its alarms' ids (`BulkWriteQueue`, `BulkWriteDeadLetters`). */
  readonly constructId: string;
  /** The start of its stack outputs' names (`BulkWriteQueueUrl`), which the operator commands read. */
  readonly outputName: string;
  /** The function's timeout for a whole batch; replay takes a push older than the longest as stuck. */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Slots of the fleet's Zoho budget it takes first (ZOHO_SLOT_FLOORS). */
  readonly slotFloor: number;
  /** Messages handed to one invocation (1 to 10). */
  readonly batchSize: number;
  /** Receives before a message goes to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /**
   * It follows Zoho jobs after the push: delayed follow-ups on its own queue (a recursive loop
   * Lambda must allow), a table of its imports, results written under RESULTS_PREFIX.
   */
  readonly followsJobs: boolean;
}

const KIND_RECORDS = {
  // Attachments are up to 100 MB each (ATTACHMENT_MAX_BYTES).
  attachment: {
    prefix: 'attachments/',
    extraPrefixes: ['fields/'],
    suffix: undefined,
    folder: 'attachments',
    constructId: 'Attachment',
    outputName: 'Attachments',
    timeoutSeconds: 300,
    memoryMb: 512,
    slotFloor: 1,
    batchSize: 5,
    maxReceiveCount: 5,
    followsJobs: false,
  },
  // Photos are up to 10 MB each.
  photo: {
    prefix: 'photos/',
    extraPrefixes: [],
    suffix: undefined,
    folder: 'photos',
    constructId: 'Photo',
    outputName: 'Photos',
    timeoutSeconds: 120,
    memoryMb: 512,
    slotFloor: 1,
    batchSize: 5,
    maxReceiveCount: 5,
    followsJobs: false,
  },
  'bulk-write': {
    prefix: 'bulk-write/',
    extraPrefixes: [],
    suffix: undefined,
    folder: 'bulk-write',
    constructId: 'BulkWrite',
    outputName: 'BulkWrite',
    timeoutSeconds: 300,
    memoryMb: 512,
    slotFloor: 1,
    batchSize: 5,
    maxReceiveCount: 5,
    followsJobs: true,
  },
} as const satisfies Record<string, KindRecord>;

/** A kind of push: one Lambda function, one queue and one default prefix each. */
export type Kind = keyof typeof KIND_RECORDS;

/** Every kind, in the records' order (the order of the stack's resources, outputs and dashboards). */
export const KINDS = Object.keys(KIND_RECORDS) as readonly Kind[];

export function isKind(value: string): value is Kind {
  return Object.hasOwn(KIND_RECORDS, value);
}

export function kindRecord(kind: Kind): KindRecord {
  return KIND_RECORDS[kind];
}

/** One value per kind, built by `build`. */
export function perKind<T>(build: (kind: Kind, record: KindRecord) => T): Record<Kind, T> {
  return Object.fromEntries(KINDS.map((kind) => [kind, build(kind, KIND_RECORDS[kind])])) as Record<Kind, T>;
}

/** Each kind's key prefix in the default routes. */
export const DEFAULT_PREFIXES: Readonly<Record<Kind, string>> = perKind((_, record) => record.prefix);

/** Prefixes a kind watches besides its own (see KindRecord.extraPrefixes). */
export const EXTRA_PREFIXES: Readonly<Record<Kind, readonly string[]>> = perKind(
  (_, record) => record.extraPrefixes,
);

/** Every prefix a kind's function watches: its own (default or configured), then its extra ones. */
export function watchedPrefixes(kind: Kind, own: string = DEFAULT_PREFIXES[kind]): string[] {
  return [own, ...EXTRA_PREFIXES[kind]];
}

/**
 * Two key prefixes overlap when one starts with the other: a key under both would reach two
 * watchers (S3 refuses overlapping notifications), or results written under one would come back
 * as new files under the other.
 */
export function prefixesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

/** One slot for each kind before the shared ones. */
export const DEFAULT_SLOT_FLOORS: Readonly<Record<Kind, number>> = perKind((_, record) => record.slotFloor);

/** The service: the start of every name the pipeline gives (functions, queues, tables, metrics). */
export const SERVICE = 's3-to-zoho';

/**
 * A kind's service name: Powertools' `service` on its logs and metrics (the dashboard and alarms
 * match on it) and the key prefix of its idempotency records.
 */
export function serviceName(kind: Kind): string {
  return `${SERVICE}-${kind}`;
}

/** A kind's queue and function name in `npm start` (`s3-to-zoho-attachments`); its journal file is named after it. */
export function localName(kind: Kind): string {
  return `${SERVICE}-${KIND_RECORDS[kind].folder}`;
}
