/**
 * The life of one bulk import as a pure function: `next(state, event) → { state, effects }`.
 * No I/O here: the adapters (start.ts, follow.ts) read the import's record, feed it an event,
 * run the effects it answers, and save the new state with a conditional write (store.ts).
 *
 *   creating ──jobs-created──▶ following ──polled (all ended)──▶ collecting ──results──▶ done | failed
 *      │                          │  ╰──polled (past the deadline)──▶ expired
 *      ╰──start-failed──▶ failed ◀╯──follow-failed
 *   failed | expired ──replay──▶ creating (attempt + 1)
 *
 * Any other pair leaves the state as it is, with no effect: a late or duplicated event changes
 * nothing. The outcome is recorded on the object by the `record` effect: `pushing` when the jobs
 * exist, and once more at the terminal transition.
 */
import type { BulkJobCounts, BulkOperation } from '#zoho/types.ts';
import type { Outcome } from '../outcome.ts';

export const IMPORT_STATUSES = ['creating', 'following', 'collecting', 'done', 'failed', 'expired'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
export const PART_STATES = ['pending', 'creating', 'created', 'finished'] as const;
export type PartState = (typeof PART_STATES)[number];

export interface ImportPart {
  rows: number;
  state: PartState;
  fileId?: string;
  jobId?: string;
  jobStatus?: string;
  counts?: BulkJobCounts;
  downloadUrl?: string;
}

export interface ImportState {
  /** The write this import is for (`writeId`): the same file dropped again is a new import. */
  write: string;
  /** 1, then one more with each replay of a failed or expired import. */
  attempt: number;
  status: ImportStatus;
  source: { bucket: string; key: string; versionId?: string | undefined; eTag: string };
  module: string;
  operation: BulkOperation;
  /** The CSV entry of the ZIP this import sends. */
  csv: string;
  /** Epoch ms: when this attempt started, and when following it gives up (`expired`). */
  startedAt: number;
  deadline: number;
  parts: ImportPart[];
  /** The store's version of the record, checked on every write. */
  version: number;
}

export interface JobLook {
  index: number;
  status: string;
  counts: BulkJobCounts;
  downloadUrl?: string | undefined;
}

export interface ImportResults {
  counts: BulkJobCounts;
  rows: number;
  failedRows: number;
  resultsKey: string;
  failedRowsKey?: string | undefined;
}

export type ImportEvent =
  | { type: 'jobs-created'; parts: ImportPart[] }
  | { type: 'start-failed'; code: string; reason: string }
  | { type: 'polled'; at: number; jobs: JobLook[] }
  | { type: 'follow-failed'; code: string; reason: string }
  | { type: 'results'; results: ImportResults }
  | { type: 'replay'; at: number; maxFollowMs: number };

export type ImportEffect =
  | { type: 'follow-up' }
  | { type: 'collect-results' }
  | { type: 'record'; outcome: Outcome };

export interface Transition {
  state: ImportState;
  effects: ImportEffect[];
}

export const isTerminal = (status: ImportStatus) =>
  status === 'done' || status === 'failed' || status === 'expired';

/** Zoho's job statuses that end a job; any other (ADDED, IN PROGRESS, SKIPPED, a new one) is still running. */
const ENDED = new Set(['COMPLETED', 'FAILED']);

export function next(state: ImportState, event: ImportEvent): Transition {
  const stay: Transition = { state, effects: [] };
  switch (event.type) {
    case 'jobs-created':
      if (state.status !== 'creating') return stay;
      return {
        state: { ...state, status: 'following', parts: event.parts },
        effects: [{ type: 'record', outcome: pushingOutcome(event.parts) }, { type: 'follow-up' }],
      };
    case 'start-failed':
      if (state.status !== 'creating') return stay;
      return fail(state, event.code, event.reason);
    case 'polled':
      return state.status === 'following' ? polled(state, event.at, event.jobs) : stay;
    case 'follow-failed':
      if (state.status !== 'following' && state.status !== 'collecting') return stay;
      return fail(state, event.code, event.reason);
    case 'results':
      return state.status === 'collecting' ? finished(state, event.results) : stay;
    case 'replay':
      if (state.status !== 'failed' && state.status !== 'expired') return stay;
      return {
        state: {
          ...state,
          status: 'creating',
          attempt: state.attempt + 1,
          startedAt: event.at,
          deadline: event.at + event.maxFollowMs,
          parts: [],
        },
        effects: [],
      };
  }
}

function polled(state: ImportState, at: number, jobs: JobLook[]): Transition {
  const parts = state.parts.map((part, index) => {
    const look = jobs.find((j) => j.index === index);
    if (!look || part.state !== 'created') return part;
    if (!ENDED.has(look.status)) return { ...part, jobStatus: look.status };
    return {
      ...part,
      state: 'finished' as const,
      jobStatus: look.status,
      counts: look.counts,
      ...(look.downloadUrl ? { downloadUrl: look.downloadUrl } : {}),
    };
  });
  const updated = { ...state, parts };
  if (parts.every((p) => p.state === 'finished')) {
    return { state: { ...updated, status: 'collecting' }, effects: [{ type: 'collect-results' }] };
  }
  if (at >= state.deadline) {
    const running = parts
      .filter((p) => p.state !== 'finished')
      .map((p) => `${p.jobId} (${p.jobStatus ?? 'ADDED'})`);
    const minutes = Math.round((state.deadline - state.startedAt) / 60_000);
    const expired = { ...updated, status: 'expired' as const };
    return {
      state: expired,
      effects: [
        {
          type: 'record',
          outcome: {
            status: 'failed',
            zohoId: jobIds(parts),
            code: 'BULK_IMPORT_EXPIRED',
            reason: `Zoho's bulk write jobs ${running.join(', ')} had not ended ${minutes} minutes after the import started: check them in Zoho, then replay the file if nothing was written.`,
          },
        },
      ],
    };
  }
  return { state: updated, effects: [{ type: 'follow-up' }] };
}

function finished(state: ImportState, results: ImportResults): Transition {
  const failedJobs = state.parts.filter((p) => p.jobStatus === 'FAILED').length;
  const { counts } = results;
  const outcome: Outcome = {
    status: failedJobs > 0 ? 'failed' : 'done',
    zohoId: jobIds(state.parts),
    ...(failedJobs > 0
      ? {
          code: 'BULK_JOB_FAILED',
          reason: `${failedJobs} of ${state.parts.length} bulk write jobs failed in Zoho.`,
        }
      : {}),
    tags: {
      'zoho-added': String(counts.added),
      'zoho-updated': String(counts.updated),
      'zoho-skipped': String(counts.skipped),
      'zoho-failed': String(results.failedRows),
      'zoho-results': results.resultsKey,
      ...(results.failedRowsKey ? { 'zoho-failed-rows': results.failedRowsKey } : {}),
    },
  };
  return {
    state: { ...state, status: failedJobs > 0 ? 'failed' : 'done' },
    effects: [{ type: 'record', outcome }],
  };
}

function fail(state: ImportState, code: string, reason: string): Transition {
  const zohoId = jobIds(state.parts);
  return {
    state: { ...state, status: 'failed' },
    effects: [{ type: 'record', outcome: { status: 'failed', code, reason, ...(zohoId ? { zohoId } : {}) } }],
  };
}

function pushingOutcome(parts: ImportPart[]): Outcome {
  return { status: 'pushing', zohoId: jobIds(parts), tags: { 'zoho-parts': String(parts.length) } };
}

/** The sum of several jobs' (or resources') counts. */
export function sumCounts(all: readonly BulkJobCounts[]): BulkJobCounts {
  const sum = { added: 0, updated: 0, skipped: 0, total: 0 };
  for (const counts of all) {
    sum.added += counts.added;
    sum.updated += counts.updated;
    sum.skipped += counts.skipped;
    sum.total += counts.total;
  }
  return sum;
}

export function jobIds(parts: ImportPart[]): string {
  return parts.flatMap((p) => (p.jobId ? [p.jobId] : [])).join(' ');
}
