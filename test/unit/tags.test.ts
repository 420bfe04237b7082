import type { Tag } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { MAX_TAGS, planOutcomeTags } from '#lib/s3/tags.ts';

/** How a reason is written on the object (S3 refuses some characters and long values). */
function written(reason: string): string | undefined {
  return planOutcomeTags([], { 'zoho-reason': reason }).tags[0]?.Value;
}

function userTags(count: number): Tag[] {
  return Array.from({ length: count }, (_, i) => ({ Key: `team-${i}`, Value: `v${i}` }));
}

const fullOutcome = {
  'zoho-status': 'failed',
  'zoho-at': '2026-11-23T10:00:00.000Z',
  'zoho-error': 'INVALID_DATA',
  'zoho-reason': 'The record is locked',
  'zoho-id': '4876876000000624001',
  'zoho-attempt': '2026-11-23T09:59:00.000Z',
};

describe('planOutcomeTags', () => {
  it("keeps the user's tags and adds ours after them", () => {
    const merged = planOutcomeTags([{ Key: 'project', Value: 'apollo' }], {
      'zoho-status': 'done',
      'zoho-id': '1',
    }).tags;
    expect(merged).toEqual([
      { Key: 'project', Value: 'apollo' },
      { Key: 'zoho-status', Value: 'done' },
      { Key: 'zoho-id', Value: '1' },
    ]);
  });

  it('replaces all of our old tags, even those the new outcome does not name', () => {
    const merged = planOutcomeTags(
      [
        { Key: 'zoho-status', Value: 'pushing' },
        { Key: 'zoho-attempt', Value: '2026-11-23T09:59:00.000Z' },
        { Key: 'owner', Value: 'sales' },
        { Key: 'zoho-error', Value: 'OLD' },
      ],
      { 'zoho-status': 'done', 'zoho-id': '77' },
    ).tags;
    expect(merged).toEqual([
      { Key: 'owner', Value: 'sales' },
      { Key: 'zoho-status', Value: 'done' },
      { Key: 'zoho-id', Value: '77' },
    ]);
  });

  it('orders ours by importance: status, attempt, id, error, reason, time, then the rest as given', () => {
    const merged = planOutcomeTags([], { 'zoho-photo': 'png 10x10', ...fullOutcome, 'zoho-added': '3' }).tags;
    expect(merged.map((t) => t.Key)).toEqual([
      'zoho-status',
      'zoho-attempt',
      'zoho-id',
      'zoho-error',
      'zoho-reason',
      'zoho-at',
      'zoho-added',
      'zoho-photo',
    ]);
  });

  it('drops our least important tags first when the user has many, never theirs', () => {
    const plan = planOutcomeTags(userTags(7), fullOutcome);
    expect(plan.tags).toHaveLength(MAX_TAGS);
    expect(plan.tags.slice(0, 7)).toEqual(userTags(7));
    expect(plan.tags.slice(7).map((t) => t.Key)).toEqual(['zoho-status', 'zoho-attempt', 'zoho-id']);
    expect(plan.dropped).toEqual(['zoho-error', 'zoho-reason', 'zoho-at']);
  });

  it('keeps only zoho-status when the user has nine tags', () => {
    const plan = planOutcomeTags(userTags(9), fullOutcome);
    expect(plan.tags.at(-1)).toEqual({ Key: 'zoho-status', Value: 'failed' });
    expect(plan.tags).toHaveLength(10);
  });

  it('writes none of ours when the user already has ten: their tags are never removed', () => {
    const plan = planOutcomeTags(userTags(10), fullOutcome);
    expect(plan.tags).toEqual(userTags(10));
    expect(plan.dropped).toContain('zoho-status');
  });

  it('frees the room our old tags took', () => {
    const existing = [
      ...userTags(8),
      { Key: 'zoho-status', Value: 'pushing' },
      { Key: 'zoho-attempt', Value: 'x' },
    ];
    const plan = planOutcomeTags(existing, { 'zoho-status': 'done', 'zoho-id': '5', 'zoho-at': 't' });
    expect(plan.tags.slice(8)).toEqual([
      { Key: 'zoho-status', Value: 'done' },
      { Key: 'zoho-id', Value: '5' },
    ]);
    expect(plan.dropped).toEqual(['zoho-at']);
  });

  it('sanitizes values S3 would refuse', () => {
    const [status, reason] = planOutcomeTags([], {
      'zoho-status': 'failed',
      'zoho-reason': 'No Leads record has Email equal to "a@b.c" (see #12); try again? 😀',
    }).tags;
    expect(status?.Value).toBe('failed');
    expect(reason?.Value).toBe('No Leads record has Email equal to a@b.c see no.12 - try again. _');
  });
});

describe('tag values', () => {
  it('keeps letters (any script), digits, spaces and + - = . _ : / @', () => {
    expect(written('Résumé 東京 a+b-c=d.e_f:g/h@i 42')).toBe('Résumé 東京 a+b-c=d.e_f:g/h@i 42');
  });

  it('respells the punctuation S3 refuses, so a reason stays readable, and replaces the rest by _', () => {
    expect(written('a,b;c"d\'e(f)g\nh\ti%j😀')).toBe('ab -cdefg h i percentj_');
    expect(
      written('The record 5725767000000412001 is locked (approval); retry in 5 min, or ask "Ana" & Co!'),
    ).toBe('The record 5725767000000412001 is locked approval - retry in 5 min or ask Ana and Co.');
    expect(written('10 MB × 2 → over 100% … #3')).toBe('10 MB x 2 - over 100 percent ... no.3');
  });

  it('cuts long values at 256 characters, counting characters not UTF-16 units', () => {
    const long = written('x'.repeat(300));
    expect(long).toHaveLength(256);
    expect(long?.endsWith('...')).toBe(true);
    expect(written('é'.repeat(256))).toBe('é'.repeat(256));
    expect(Array.from(written('東'.repeat(400)) ?? '')).toHaveLength(256);
  });
});
