import { describe, expect, it } from 'vitest';
import {
  isFinal,
  OUTCOME_TAG_PRIORITY,
  readOutcome,
  type TaggedOutcome,
  tagsOf,
} from '#lib/pipeline/outcome-tags.ts';

const AT = '2026-11-23T10:00:00.000Z';
const ATTEMPT = '2026-11-23T09:59:00.000Z';

/** Every outcome the pipeline writes on an object, as the tags it writes for it. */
const KINDS: Array<{ kind: string; outcome: TaggedOutcome; tags: Record<string, string> }> = [
  {
    kind: 'attachment done',
    outcome: { status: 'done', at: AT, zohoId: '5725767000000412001' },
    tags: { 'zoho-status': 'done', 'zoho-at': AT, 'zoho-id': '5725767000000412001' },
  },
  {
    kind: 'photo done',
    outcome: { status: 'done', at: AT, photo: 'png 640x480' },
    tags: { 'zoho-status': 'done', 'zoho-at': AT, 'zoho-photo': 'png 640x480' },
  },
  {
    kind: 'skipped, already pushed',
    outcome: { status: 'skipped', at: AT, zohoId: '1', code: 'ALREADY_PUSHED', reason: 'Already there.' },
    tags: {
      'zoho-status': 'skipped',
      'zoho-at': AT,
      'zoho-id': '1',
      'zoho-error': 'ALREADY_PUSHED',
      'zoho-reason': 'Already there.',
    },
  },
  {
    kind: 'failed',
    outcome: { status: 'failed', at: AT, code: 'FILE_TOO_LARGE', reason: 'Over 20 MB; split it.' },
    tags: {
      'zoho-status': 'failed',
      'zoho-at': AT,
      'zoho-error': 'FILE_TOO_LARGE',
      'zoho-reason': 'Over 20 MB; split it.',
    },
  },
  {
    kind: 'pushing a file',
    outcome: { status: 'pushing', attempt: ATTEMPT },
    tags: { 'zoho-status': 'pushing', 'zoho-attempt': ATTEMPT },
  },
  {
    kind: 'retrying',
    outcome: {
      status: 'retrying',
      attempt: ATTEMPT,
      retryAt: '2026-11-23T10:00:02.000Z',
      at: AT,
      code: 'TOO_MANY_REQUESTS',
      reason: 'Zoho said 429.',
    },
    tags: {
      'zoho-status': 'retrying',
      'zoho-attempt': ATTEMPT,
      'zoho-retry-at': '2026-11-23T10:00:02.000Z',
      'zoho-at': AT,
      'zoho-error': 'TOO_MANY_REQUESTS',
      'zoho-reason': 'Zoho said 429.',
    },
  },
  {
    kind: 'pushing a bulk import',
    outcome: { status: 'pushing', at: AT, zohoId: '21 22', parts: 2 },
    tags: { 'zoho-status': 'pushing', 'zoho-at': AT, 'zoho-id': '21 22', 'zoho-parts': '2' },
  },
  {
    kind: 'bulk import done',
    outcome: {
      status: 'done',
      at: AT,
      zohoId: '21',
      added: 3,
      updated: 0,
      skipped: 1,
      failed: 1,
      results: 'bulk-write-results/a.zip.results.csv',
      failedRows: 'bulk-write-results/a.zip.failed-rows.zip',
    },
    tags: {
      'zoho-status': 'done',
      'zoho-at': AT,
      'zoho-id': '21',
      'zoho-added': '3',
      'zoho-updated': '0',
      'zoho-skipped': '1',
      'zoho-failed': '1',
      'zoho-results': 'bulk-write-results/a.zip.results.csv',
      'zoho-failed-rows': 'bulk-write-results/a.zip.failed-rows.zip',
    },
  },
  {
    kind: 'bulk import failed',
    outcome: { status: 'failed', at: AT, zohoId: '21 22', code: 'BULK_IMPORT_EXPIRED', reason: 'Too long.' },
    tags: {
      'zoho-status': 'failed',
      'zoho-at': AT,
      'zoho-id': '21 22',
      'zoho-error': 'BULK_IMPORT_EXPIRED',
      'zoho-reason': 'Too long.',
    },
  },
];

describe('outcome tags', () => {
  it.each(KINDS)('$kind: written as the tags users read, read back as it was', ({ outcome, tags }) => {
    expect(tagsOf(outcome)).toEqual(tags);
    expect(readOutcome(tagsOf(outcome))).toEqual(outcome);
  });

  it('writes them most important first', () => {
    for (const { outcome } of KINDS) {
      const keys = Object.keys(tagsOf(outcome));
      const ranks = keys.map((key) => OUTCOME_TAG_PRIORITY.indexOf(key));
      expect(ranks.every((rank) => rank >= 0)).toBe(true);
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    }
    expect(OUTCOME_TAG_PRIORITY.slice(0, 7)).toEqual([
      'zoho-status',
      'zoho-attempt',
      'zoho-retry-at',
      'zoho-id',
      'zoho-error',
      'zoho-reason',
      'zoho-at',
    ]);
  });

  it("reads ours only, never the user's, and says no status when the pipeline wrote none", () => {
    expect(readOutcome({ project: 'apollo', 'zoho-status': 'done' })).toEqual({ status: 'done' });
    expect(readOutcome({ project: 'apollo' })).toEqual({});
    expect(readOutcome({}).status).toBeUndefined();
  });

  it('keeps a status it does not know, and leaves out a count that is not a whole number', () => {
    expect(readOutcome({ 'zoho-status': 'on hold', 'zoho-added': 'many', 'zoho-failed': '0' })).toEqual({
      status: 'on hold',
      failed: 0,
    });
  });

  it('knows the final statuses', () => {
    expect(['done', 'failed', 'skipped'].every(isFinal)).toBe(true);
    expect(['pushing', 'retrying', undefined].some(isFinal)).toBe(false);
  });
});
