/**
 * The life of one bulk import as a pure function: `next(state, event) → { state, effects }`.
 * No I/O here: the adapters (start.ts, follow.ts) read the import's record, feed it an event,
 * run the effects it answers, and save the new state with a conditional write (store.ts).
 *
 *   creating ──jobs-created──▶ following ──polled (all ended)──▶ collecting ──results──▶ done | failed
 *    │  ↺ rechecked               │  ╰──polled (past the deadline)──▶ expired
 *    │  ╰──jobs-created (every part already ended)──▶ collecting
 *    ╰──start-failed──▶ failed ◀──╯──follow-failed
 *   failed | expired ──replay──▶ creating (attempt + 1, resuming)
 *   done | failed | expired ──forced-replay──▶ creating (attempt + 1, every part anew)
 *
 * A replay resumes, it never redoes what Zoho did: a part whose job COMPLETED keeps its job,
 * counts and result; a part whose job exists but had not ended is looked at again (`rechecked`,
 * before any new job is made: collected if it completed since, followed again if it runs, made
 * anew only if Zoho says it FAILED or knows no such job); every other part (its job FAILED, never
 * made, or cut off while being made) gets a new job. Only `forced-replay` (`replay --force`)
 * sends every row again, a `done` import's too.
 *
 * Any other pair leaves the state as it is, with no effect: a late or duplicated event changes
 * nothing. The outcome is recorded on the object by the `record` effect: `pushing` when the jobs
 * exist, and once more at the terminal transition.
 */
import type { BulkJobCounts, BulkOperation } from '#zoho/types.ts';
import type { Outcome } from '../outcome.ts';
import { tagsOf } from '../outcome-tags.ts';

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
  | { type: 'replay' | 'forced-replay'; at: number; maxFollowMs: number }
  /** A replay's first look at the jobs an earlier attempt made; `gone`: the parts whose job Zoho does not know. */
  | { type: 'rechecked'; jobs: JobLook[]; gone: number[] };

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
      if (event.parts.length > 0 && event.parts.every((p) => p.state === 'finished')) {
        // A replay whose earlier jobs had all ended: nothing to follow, the results are there.
        return {
          state: { ...state, status: 'collecting', parts: event.parts },
          effects: [{ type: 'collect-results' }],
        };
      }
      return {
        state: { ...state, status: 'following', parts: event.parts },
        effects: [{ type: 'record', outcome: pushingOutcome(event.parts) }, { type: 'follow-up' }],
      };
    case 'rechecked':
      return state.status === 'creating' ? { state: rechecked(state, event), effects: [] } : stay;
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
      return { state: { ...nextAttempt(state, event), parts: state.parts.map(resumed) }, effects: [] };
    case 'forced-replay':
      if (!isTerminal(state.status)) return stay;
      return { state: { ...nextAttempt(state, event), parts: [] }, effects: [] };
  }
}

function nextAttempt(state: ImportState, event: { at: number; maxFollowMs: number }): ImportState {
  return {
    ...state,
    status: 'creating',
    attempt: state.attempt + 1,
    startedAt: event.at,
    deadline: event.at + event.maxFollowMs,
  };
}

/** A part whose job COMPLETED, in this attempt or an earlier one: its rows are in Zoho. */
const isLanded = (part: ImportPart) => part.state === 'finished' && part.jobStatus === 'COMPLETED';

/** A part a replay keeps: landed, or its job made and not seen to end (looked at again first). */
export const isKept = (part: ImportPart) => isLanded(part) || (part.state === 'created' && !!part.jobId);

/** A part as a replay starts it: kept, or to be sent anew (a new upload, a new job). */
const resumed = (part: ImportPart): ImportPart => (isKept(part) ? part : anew(part));
const anew = (part: ImportPart): ImportPart => ({ rows: part.rows, state: 'pending' });

/** The earlier jobs as Zoho tells of them now: COMPLETED kept, running followed again, FAILED or unknown anew. */
function rechecked(state: ImportState, event: { jobs: JobLook[]; gone: number[] }): ImportState {
  const parts = state.parts.map((part, index) => {
    if (part.state !== 'created') return part;
    if (event.gone.includes(index)) return anew(part);
    const look = event.jobs.find((j) => j.index === index);
    if (!look) return part;
    const seen = lookedAt(part, look);
    return seen.jobStatus === 'FAILED' ? anew(part) : seen;
  });
  return { ...state, parts };
}

/** A made job's part once Zoho told its status: finished (with counts and result) once it ended. */
function lookedAt(part: ImportPart, look: JobLook): ImportPart {
  if (!ENDED.has(look.status)) return { ...part, jobStatus: look.status };
  return {
    ...part,
    state: 'finished' as const,
    jobStatus: look.status,
    counts: look.counts,
    ...(look.downloadUrl ? { downloadUrl: look.downloadUrl } : {}),
  };
}

function polled(state: ImportState, at: number, jobs: JobLook[]): Transition {
  const parts = state.parts.map((part, index) => {
    const look = jobs.find((j) => j.index === index);
    return look && part.state === 'created' ? lookedAt(part, look) : part;
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
            reason: `Zoho's bulk write jobs ${running.join(', ')} had not ended ${minutes} minutes after the import started: a replay looks at them again, collects those that completed and makes none twice.`,
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
          reason: `${failedJobs} of ${state.parts.length} bulk write jobs failed in Zoho: a replay sends their rows again, and only theirs.`,
        }
      : {}),
    tags: tagsOf({
      added: counts.added,
      updated: counts.updated,
      skipped: counts.skipped,
      failed: results.failedRows,
      results: results.resultsKey,
      failedRows: results.failedRowsKey || undefined,
    }),
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
  return { status: 'pushing', zohoId: jobIds(parts), tags: tagsOf({ parts: parts.length }) };
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
