/** The bulk import machine without I/O: every state × every event, then the details of each move. */
import { describe, expect, it } from 'vitest';
import {
  IMPORT_STATUSES,
  type ImportEvent,
  type ImportState,
  type ImportStatus,
  next,
} from '#lib/pipeline/bulk/machine.ts';

const counts = (added: number) => ({ added, updated: 0, skipped: 0, total: added });

function state(status: ImportStatus, parts: ImportState['parts'] = []): ImportState {
  return {
    write: 'inbox/bulk-write/Leads/insert/a.zip#v1',
    attempt: 1,
    status,
    source: { bucket: 'inbox', key: 'bulk-write/Leads/insert/a.zip', versionId: 'v1', eTag: '"e"' },
    module: 'Leads',
    operation: 'insert',
    csv: 'a.csv',
    startedAt: 1_000,
    deadline: 11_000,
    parts,
    version: 3,
  };
}

const created = [
  { rows: 2, state: 'created' as const, fileId: '11', jobId: '21' },
  { rows: 1, state: 'created' as const, fileId: '12', jobId: '22' },
];
const results = { counts: counts(3), rows: 3, failedRows: 0, resultsKey: 'r/a.zip.results.csv' };

const EVENTS: Record<ImportEvent['type'], ImportEvent> = {
  'jobs-created': { type: 'jobs-created', parts: created },
  'start-failed': { type: 'start-failed', code: 'CSV_EMPTY_HEADER', reason: 'no name' },
  polled: {
    type: 'polled',
    at: 2_000,
    jobs: [
      { index: 0, status: 'COMPLETED', counts: counts(2), downloadUrl: 'https://download.zoho.com/1' },
      { index: 1, status: 'IN PROGRESS', counts: counts(0) },
    ],
  },
  'follow-failed': { type: 'follow-failed', code: 'RESOURCE_NOT_FOUND', reason: 'gone' },
  results: { type: 'results', results },
  replay: { type: 'replay', at: 50_000, maxFollowMs: 10_000 },
  'forced-replay': { type: 'forced-replay', at: 50_000, maxFollowMs: 10_000 },
  rechecked: {
    type: 'rechecked',
    jobs: [{ index: 0, status: 'COMPLETED', counts: counts(2), downloadUrl: 'https://download.zoho.com/1' }],
    gone: [1],
  },
};

/** What each (state, event) leads to; a missing pair leaves the state as it is, with no effect. */
const TABLE: Partial<Record<ImportStatus, Partial<Record<ImportEvent['type'], [ImportStatus, string[]]>>>> = {
  creating: {
    'jobs-created': ['following', ['record', 'follow-up']],
    'start-failed': ['failed', ['record']],
    rechecked: ['creating', []],
  },
  following: {
    polled: ['following', ['follow-up']],
    'follow-failed': ['failed', ['record']],
  },
  collecting: {
    'follow-failed': ['failed', ['record']],
    results: ['done', ['record']],
  },
  done: { 'forced-replay': ['creating', []] },
  failed: { replay: ['creating', []], 'forced-replay': ['creating', []] },
  expired: { replay: ['creating', []], 'forced-replay': ['creating', []] },
};

describe('next(state, event): every state × every event', () => {
  const cases = IMPORT_STATUSES.flatMap((status) =>
    Object.values(EVENTS).map((event) => [status, event.type, event] as const),
  );
  it.each(cases)('%s + %s', (status, type, event) => {
    const before = state(status, status === 'creating' ? [] : created);
    const { state: after, effects } = next(before, event);
    const expected = TABLE[status]?.[type];
    if (!expected) {
      expect(after).toBe(before);
      expect(effects).toEqual([]);
      return;
    }
    expect(after.status).toBe(expected[0]);
    expect(effects.map((e) => e.type)).toEqual(expected[1]);
    expect(after.version).toBe(before.version); // the store alone moves versions
  });
});

describe('next(state, event): the moves', () => {
  it('marks the object pushing with the job ids when the jobs exist', () => {
    const { effects } = next(state('creating'), EVENTS['jobs-created']);
    expect(effects[0]).toEqual({
      type: 'record',
      outcome: { status: 'pushing', zohoId: '21 22', tags: { 'zoho-parts': '2' } },
    });
  });

  it('collects the results once every job has ended, COMPLETED or FAILED', () => {
    const { state: after, effects } = next(state('following', created), {
      type: 'polled',
      at: 2_000,
      jobs: [
        { index: 0, status: 'COMPLETED', counts: counts(2), downloadUrl: 'https://download.zoho.com/1' },
        { index: 1, status: 'FAILED', counts: counts(0) },
      ],
    });
    expect(after.status).toBe('collecting');
    expect(after.parts.map((p) => [p.state, p.jobStatus])).toEqual([
      ['finished', 'COMPLETED'],
      ['finished', 'FAILED'],
    ]);
    expect(effects).toEqual([{ type: 'collect-results' }]);
  });

  it.each(['ADDED', 'IN PROGRESS', 'SKIPPED', 'SOMETHING NEW'])(
    'counts the status %s as still running until the deadline',
    (status) => {
      const polled = (at: number) =>
        next(state('following', created), {
          type: 'polled',
          at,
          jobs: [0, 1].map((index) => ({ index, status, counts: counts(0) })),
        });
      expect(polled(10_999).state.status).toBe('following');
      const late = polled(11_000);
      expect(late.state.status).toBe('expired');
      expect(late.effects).toEqual([
        {
          type: 'record',
          outcome: expect.objectContaining({
            status: 'failed',
            code: 'BULK_IMPORT_EXPIRED',
            zohoId: '21 22',
          }),
        },
      ]);
    },
  );

  it('ends done with the counts, or failed when a job failed in Zoho', () => {
    const finished = created.map((p, i) => ({
      ...p,
      state: 'finished' as const,
      jobStatus: i ? 'FAILED' : 'COMPLETED',
    }));
    const failed = next(state('collecting', finished), EVENTS.results);
    expect(failed.state.status).toBe('failed');
    expect(failed.effects[0]).toMatchObject({ outcome: { status: 'failed', code: 'BULK_JOB_FAILED' } });
    const ok = finished.map((p) => ({ ...p, jobStatus: 'COMPLETED' }));
    const done = next(state('collecting', ok), {
      type: 'results',
      results: { ...results, failedRows: 1, failedRowsKey: 'r/a.zip.failed-rows.zip' },
    });
    expect(done.effects[0]).toMatchObject({
      outcome: {
        status: 'done',
        tags: { 'zoho-added': '3', 'zoho-failed': '1', 'zoho-failed-rows': 'r/a.zip.failed-rows.zip' },
      },
    });
  });

  it('starts a new attempt for a replay: a new deadline, the parts whose rows landed or whose job exists kept', () => {
    const parts: ImportState['parts'] = [
      {
        rows: 3,
        state: 'finished',
        fileId: '11',
        jobId: '21',
        jobStatus: 'COMPLETED',
        counts: counts(3),
        downloadUrl: 'u1',
      },
      { rows: 3, state: 'finished', fileId: '12', jobId: '22', jobStatus: 'FAILED', counts: counts(0) },
      { rows: 3, state: 'created', fileId: '13', jobId: '23', jobStatus: 'IN PROGRESS' },
      { rows: 3, state: 'creating', fileId: '14' },
      { rows: 3, state: 'pending', fileId: '15' },
    ];
    for (const status of ['failed', 'expired'] as const) {
      const { state: after } = next(state(status, parts), EVENTS.replay);
      expect(after).toMatchObject({ status: 'creating', attempt: 2, startedAt: 50_000, deadline: 60_000 });
      // Landed and running jobs are kept; a FAILED job, one cut off while made, one never made: anew.
      expect(after.parts).toEqual([
        parts[0],
        { rows: 3, state: 'pending' },
        parts[2],
        { rows: 3, state: 'pending' },
        { rows: 3, state: 'pending' },
      ]);
    }
    expect(next(state('done', parts), EVENTS.replay).state.status).toBe('done');
  });

  it('sends every part anew on a forced replay, a done import’s too', () => {
    const landed = created.map((p) => ({ ...p, state: 'finished' as const, jobStatus: 'COMPLETED' }));
    for (const status of ['done', 'failed', 'expired'] as const) {
      const { state: after } = next(state(status, landed), EVENTS['forced-replay']);
      expect(after).toMatchObject({ status: 'creating', attempt: 2, deadline: 60_000, parts: [] });
    }
  });

  it('looks at the earlier jobs again: COMPLETED collected, running followed, FAILED or unknown made anew', () => {
    const earlier = [0, 1, 2, 3].map((i) => ({
      rows: 5,
      state: 'created' as const,
      fileId: `1${i}`,
      jobId: `2${i}`,
      jobStatus: 'ADDED',
    }));
    const { state: after, effects } = next(state('creating', earlier), {
      type: 'rechecked',
      jobs: [
        { index: 0, status: 'COMPLETED', counts: counts(5), downloadUrl: 'https://download.zoho.com/20' },
        { index: 1, status: 'IN PROGRESS', counts: counts(0) },
        { index: 2, status: 'FAILED', counts: counts(0) },
      ],
      gone: [3],
    });
    expect(effects).toEqual([]);
    expect(after.status).toBe('creating');
    expect(after.parts).toEqual([
      {
        ...earlier[0],
        state: 'finished',
        jobStatus: 'COMPLETED',
        counts: counts(5),
        downloadUrl: 'https://download.zoho.com/20',
      },
      { ...earlier[1], jobStatus: 'IN PROGRESS' },
      { rows: 5, state: 'pending' },
      { rows: 5, state: 'pending' },
    ]);
  });

  it('collects at once when a replay finds every earlier job ended: nothing to make, nothing to follow', () => {
    const landed = created.map((p) => ({ ...p, state: 'finished' as const, jobStatus: 'COMPLETED' }));
    const { state: after, effects } = next(state('creating', landed), {
      type: 'jobs-created',
      parts: landed,
    });
    expect(after.status).toBe('collecting');
    expect(effects).toEqual([{ type: 'collect-results' }]);
  });
});
