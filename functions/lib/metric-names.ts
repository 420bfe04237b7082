/**
 * The pipeline's CloudWatch metrics, named once: the functions emit them (pipeline/deps.ts,
 * pipeline/handler.ts) and the stack's dashboard and alarms read them (infra/monitoring.ts).
 * Each carries Powertools' `service` (kinds.ts serviceName) and `kind`; ZohoErrors adds `code`.
 */
import { SERVICE } from './kinds.ts';

/** POWERTOOLS_METRICS_NAMESPACE unless the deployment names another (the construct's `metricsNamespace`). */
export const DEFAULT_METRICS_NAMESPACE = SERVICE;

export const METRIC = {
  /** S3 events and bulk-write follow-ups handed to the function. */
  recordsReceived: 'RecordsReceived',
  filesPushed: 'FilesPushed',
  filesFailed: 'FilesFailed',
  /** Duplicates and folder markers. */
  filesSkipped: 'FilesSkipped',
  /** Bulk-write jobs created, followed until done or failed. */
  filesStarted: 'FilesStarted',
  bytesPushed: 'BytesPushed',
  /** Milliseconds one file's push took. */
  pushDuration: 'PushDuration',
  /** With the dimension `code`: the error's code (ZOHO_THROTTLED, BULK_IMPORT_EXPIRED, …). */
  zohoErrors: 'ZohoErrors',
  tokenRefreshes: 'TokenRefreshes',
  /** Outcomes not tagged: the object's own tags left no room. */
  outcomeTagsDropped: 'OutcomeTagsDropped',
} as const;

/** The metric counting files that ended with each status. */
export const FILES_BY_STATUS = {
  done: METRIC.filesPushed,
  failed: METRIC.filesFailed,
  skipped: METRIC.filesSkipped,
  pushing: METRIC.filesStarted,
} as const;
