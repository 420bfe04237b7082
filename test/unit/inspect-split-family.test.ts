import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FamilySource, splitFamilyToZips } from '#lib/inspect/split-family.ts';
import { unzip } from '../integration/sandbox-helpers.ts';
import { refusal } from './inspect-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'split-family-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Contacts (Ref, Name) and their Languages (Contact, Language), linked Ref ↔ Contact. */
function family(parents: string[], children: Array<[string, string]>): FamilySource {
  const files: Record<string, string> = {
    'contacts.csv': `Ref,Last_Name\r\n${parents.map((ref) => `${ref},Name ${ref}\r\n`).join('')}`,
    'languages.csv': `Contact,Language\r\n${children.map(([ref, lang]) => `${ref},${lang}\r\n`).join('')}`,
  };
  return {
    parent: 'contacts.csv',
    links: [{ file: 'languages.csv', childColumn: 0, parentColumn: 0 }],
    open: async (name) => Readable.from([Buffer.from(files[name] ?? '')]),
  };
}

async function split(source: FamilySource, maxRows: number) {
  const parts = await splitFamilyToZips(source, { dir, maxRows });
  return Promise.all(
    parts.map(async (part) => ({ rows: part.rows, files: await unzip(await readFile(part.path)) })),
  );
}

describe('splitFamilyToZips', () => {
  it('cuts the parents in order and sends each child row with its parent, the rest with the last part', async () => {
    const source = family(
      ['a', 'b', 'c', 'd', 'e'],
      [
        ['e', 'Polish'],
        ['a', 'French'],
        ['nobody', 'Latin'],
        ['c', 'German'],
        ['a', 'Czech'],
      ],
    );
    const parts = await split(source, 2);
    expect(parts).toEqual([
      {
        rows: 2,
        files: {
          'contacts.csv': 'Ref,Last_Name\r\na,Name a\r\nb,Name b\r\n',
          'languages.csv': 'Contact,Language\r\na,French\r\na,Czech\r\n',
        },
      },
      {
        rows: 2,
        files: {
          'contacts.csv': 'Ref,Last_Name\r\nc,Name c\r\nd,Name d\r\n',
          'languages.csv': 'Contact,Language\r\nc,German\r\n',
        },
      },
      {
        rows: 1,
        // A row naming no parent rides in the last part, where Zoho reports it.
        files: {
          'contacts.csv': 'Ref,Last_Name\r\ne,Name e\r\n',
          'languages.csv': 'Contact,Language\r\ne,Polish\r\nnobody,Latin\r\n',
        },
      },
    ]);
  });

  it('closes a part early when the next parent’s children would not fit beside it', async () => {
    const source = family(
      ['a', 'b', 'c'],
      [
        ['a', 'x'],
        ['a', 'y'],
        ['b', 'z'],
        ['b', 'w'],
        ['c', 'v'],
      ],
    );
    const parts = await split(source, 3);
    expect(parts.map((p) => [p.rows, p.files['languages.csv']?.split('\r\n').length])).toEqual([
      [1, 4],
      [2, 5],
    ]);
  });

  it('keeps one part when everything fits, and leaves no file behind but the parts', async () => {
    const parts = await splitFamilyToZips(family(['a', 'b'], [['b', 'Polish']]), { dir });
    expect(parts).toHaveLength(1);
    expect((await readdir(dir)).sort()).toEqual(['family-part-001.zip']);
  });

  it('refuses a parent whose children alone pass one job’s rows, and leaves nothing behind', async () => {
    const source = family(
      ['a', 'b'],
      [
        ['b', 'x'],
        ['b', 'y'],
        ['b', 'z'],
      ],
    );
    const error = await refusal(splitFamilyToZips(source, { dir, maxRows: 2 }));
    expect(error.code).toBe('ZIP_PARENT_CHILD_TOO_LARGE');
    expect(error.message).toContain('has 3 rows in "languages.csv"');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses rows naming no parent that do not fit in the last part', async () => {
    const source = family(
      ['a'],
      [
        ['a', 'x'],
        ['ghost', 'y'],
        ['ghost', 'z'],
      ],
    );
    const error = await refusal(splitFamilyToZips(source, { dir, maxRows: 2 }));
    expect(error.code).toBe('ZIP_PARENT_CHILD_TOO_LARGE');
    expect(error.message).toContain('2 rows whose link column names no row of "contacts.csv"');
  });

  it('refuses a part past 25 MB', async () => {
    const error = await refusal(splitFamilyToZips(family(['a'], [['a', 'x']]), { dir, maxPartBytes: 10 }));
    expect(error.code).toBe('ZIP_PART_TOO_LARGE');
    expect(await readdir(dir)).toEqual([]);
  });
});
