/**
 * Where the bucket stands: for each prefix, how many objects carry each `zoho-status` (and how
 * many none: never processed), then the latest failures with their error code.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { KINDS, watchedPrefixes } from '#lib/routing/route.ts';
import { scanObjects } from './scan.ts';

export const DEFAULT_STATUS_PREFIXES = KINDS.flatMap((kind) => watchedPrefixes(kind));
export const DEFAULT_FAILURE_LIMIT = 10;
const STATUSES = ['done', 'failed', 'skipped', 'pushing', 'unprocessed'] as const;

/** The pipeline's kind for each default prefix (the bucket notifications of the stack). */
const KIND_OF_PREFIX: Record<string, string> = Object.fromEntries(
  KINDS.flatMap((kind) => watchedPrefixes(kind).map((prefix) => [prefix, kind])),
);

export interface PrefixStatus {
  prefix: string;
  /** The pipeline kind behind the prefix, or the prefix itself when it is not a default one. */
  kind: string;
  total: number;
  /** done, failed, skipped, pushing, unprocessed, and any other `zoho-status` value met. */
  counts: Record<string, number>;
}

export interface FailureEntry {
  key: string;
  lastModified: string | undefined;
  /** When the outcome was written (`zoho-at`), if the tags say. */
  failedAt: string | undefined;
  error: string | undefined;
  reason: string | undefined;
}

export interface StatusReport {
  bucket: string;
  prefixes: PrefixStatus[];
  /** Failures in all, across the prefixes. */
  failedTotal: number;
  /** The latest failures, newest first. */
  failures: FailureEntry[];
}

export interface StatusOptions {
  s3: S3Client;
  bucket: string;
  prefixes?: readonly string[] | undefined;
  /** How many of the latest failures to list; default 10. */
  failureLimit?: number | undefined;
  resultsPrefix?: string | undefined;
  concurrency?: number | undefined;
  signal?: AbortSignal | undefined;
}

export async function bucketStatus(options: StatusOptions): Promise<StatusReport> {
  const prefixes = options.prefixes?.length ? options.prefixes : DEFAULT_STATUS_PREFIXES;
  const failureLimit = options.failureLimit ?? DEFAULT_FAILURE_LIMIT;
  const failures: FailureEntry[] = [];
  const report: PrefixStatus[] = [];

  for (const prefix of prefixes) {
    const counts: Record<string, number> = Object.fromEntries(STATUSES.map((status) => [status, 0]));
    let total = 0;
    for await (const object of scanObjects({ ...options, prefix })) {
      const status = object.tags['zoho-status'] || 'unprocessed';
      counts[status] = (counts[status] ?? 0) + 1;
      total++;
      if (status === 'failed') {
        failures.push({
          key: object.key,
          lastModified: object.lastModified?.toISOString(),
          failedAt: object.tags['zoho-at'],
          error: object.tags['zoho-error'],
          reason: object.tags['zoho-reason'],
        });
      }
    }
    report.push({ prefix, kind: KIND_OF_PREFIX[prefix] ?? prefix, total, counts });
  }

  failures.sort((a, b) => failureTime(b) - failureTime(a) || a.key.localeCompare(b.key));
  return {
    bucket: options.bucket,
    prefixes: report,
    failedTotal: failures.length,
    failures: failures.slice(0, failureLimit),
  };
}

function failureTime(entry: FailureEntry): number {
  const at = Date.parse(entry.failedAt ?? entry.lastModified ?? '');
  return Number.isNaN(at) ? 0 : at;
}

/** The report as a person reads it in a terminal. */
export function formatStatus(report: StatusReport): string {
  const known: readonly string[] = STATUSES;
  const extra = [...new Set(report.prefixes.flatMap((p) => Object.keys(p.counts)))].filter(
    (s) => !known.includes(s),
  );
  const columns = ['prefix', 'kind', 'total', ...STATUSES, ...extra];
  const rows = report.prefixes.map((p) => [
    p.prefix,
    p.kind,
    String(p.total),
    ...[...STATUSES, ...extra].map((status) => String(p.counts[status] ?? 0)),
  ]);
  const widths = columns.map((column, i) =>
    Math.max(column.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');

  const out = [`s3://${report.bucket}`, line(columns), ...rows.map(line)];
  if (report.failedTotal === 0) out.push('', 'No failures.');
  if (report.failures.length === 0) return out.join('\n');
  out.push('', `Latest failures (${report.failures.length} of ${report.failedTotal}):`);
  for (const failure of report.failures) {
    const at = failure.failedAt ?? failure.lastModified ?? '-';
    const reason = failure.reason ? `  ${failure.reason}` : '';
    out.push(`${at}  ${failure.key}  ${failure.error ?? '-'}${reason}`);
  }
  return out.join('\n');
}
