/**
 * Where the bucket stands: for each prefix, how many objects carry each `zoho-status` (and how
 * many none: never processed), then the latest failures with their error code and reason: the
 * full text the functions kept in the ledger table when its tag holds only a short form.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type FullReason, type LedgerTable, readFullReasons } from '#lib/pipeline/full-reason.ts';
import { readOutcome } from '#lib/pipeline/outcome-tags.ts';
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
  /** The full text when the ledger kept it for this outcome, otherwise the tag's (a short form when S3 could not hold it). */
  reason: string | undefined;
}

export interface StatusReport {
  bucket: string;
  prefixes: PrefixStatus[];
  /** Failures in all, across the prefixes. */
  failedTotal: number;
  /** The latest failures, newest first. */
  failures: FailureEntry[];
  /** Whether the failures' reasons were looked up in the ledger table (else they are the tags'). */
  fullReasons: boolean;
  /** Why the ledger table, when given, could not be read (the reasons are then the tags'). */
  ledgerError?: string;
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
  /** The ledger table (IDEMPOTENCY_TABLE), where the functions keep reasons their tags cut short. */
  ledger?: LedgerTable | undefined;
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
      const outcome = readOutcome(object.tags);
      const status = outcome.status || 'unprocessed';
      counts[status] = (counts[status] ?? 0) + 1;
      total++;
      if (status === 'failed') {
        failures.push({
          key: object.key,
          lastModified: object.lastModified?.toISOString(),
          failedAt: outcome.at,
          error: outcome.code,
          reason: outcome.reason,
        });
      }
    }
    report.push({ prefix, kind: KIND_OF_PREFIX[prefix] ?? prefix, total, counts });
  }

  failures.sort((a, b) => failureTime(b) - failureTime(a) || a.key.localeCompare(b.key));
  const latest = failures.slice(0, failureLimit);
  const ledgerError = options.ledger && (await useFullReasons(options.ledger, options.bucket, latest));
  return {
    bucket: options.bucket,
    prefixes: report,
    failedTotal: failures.length,
    failures: latest,
    fullReasons: options.ledger !== undefined && !ledgerError,
    ...(ledgerError ? { ledgerError } : {}),
  };
}

/**
 * Each failure's full reason, when the ledger kept one for this very outcome (same `zoho-at`); an
 * older outcome's is stale. A ledger that cannot be read (no permission, no table) leaves the
 * tags' text and is said, not thrown: the counts stand without it.
 */
async function useFullReasons(
  ledger: LedgerTable,
  bucket: string,
  failures: FailureEntry[],
): Promise<string | undefined> {
  if (failures.length === 0) return undefined;
  let kept: Map<string, FullReason>;
  try {
    kept = await readFullReasons(
      ledger,
      bucket,
      failures.map((failure) => failure.key),
    );
  } catch (error) {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  for (const failure of failures) {
    const full = kept.get(failure.key);
    if (full && failure.failedAt !== undefined && full.at === failure.failedAt) failure.reason = full.reason;
  }
  return undefined;
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
  if (report.ledgerError) {
    out.push(`Reasons as their tags hold them: the ledger table could not be read (${report.ledgerError}).`);
  } else if (!report.fullReasons) {
    out.push(
      'Reasons as their tags hold them (S3 takes no quotes, commas or brackets there): --stack or --ledger-table shows the full text.',
    );
  }
  for (const failure of report.failures) {
    const at = failure.failedAt ?? failure.lastModified ?? '-';
    const reason = failure.reason ? `  ${failure.reason}` : '';
    out.push(`${at}  ${failure.key}  ${failure.error ?? '-'}${reason}`);
  }
  return out.join('\n');
}
