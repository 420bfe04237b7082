/**
 * The results of a parent-child import's children: one results file per child CSV
 * (`{key}.{child file}.results.csv`), every input row with its STATUS, RECORD_ID and ERRORS, and
 * its failed rows for failed-rows.zip. A child row went in the part of the parent it points at
 * (split-family.ts): the parent rows, read again in the parts' order and sizes, say which; the
 * part's result file for that child gives its rows' results in the order they were sent.
 */
import { join } from 'node:path';
import type { BulkSource } from '#lib/inspect/bulk-source.ts';
import {
  csvRecords,
  type FamilyLink,
  familyLinks,
  linkValue,
  partsByValue,
} from '#lib/inspect/split-family.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import type { ImportState } from './machine.ts';
import {
  notProcessed,
  partResults,
  put,
  type ResultFilesDeps,
  type ResultsWriter,
  resultsKey,
  resultsWriter,
} from './result-files.ts';

export interface ChildResults {
  rows: number;
  failedRows: number;
  /** Each child's failed rows, a CSV under the results folder, for failed-rows.zip. */
  failedFiles: Array<{ name: string; path: string }>;
  /** Each child's results file. */
  keys: string[];
}

export interface ChildResultsRequest {
  deps: ResultFilesDeps;
  state: ImportState;
  object: StoredObject;
  source: BulkSource;
  /** Where the results are made (a folder in /tmp). */
  dir: string;
  /** Each part's result ZIP, downloaded; none for a part whose job has no result. */
  resultZips: Array<string | undefined>;
}

/** Nothing for an import without children. */
export async function collectChildResults(request: ChildResultsRequest): Promise<ChildResults> {
  const { source, state } = request;
  const links = familyLinks(source.jobOptions);
  const outcome: ChildResults = { rows: 0, failedRows: 0, failedFiles: [], keys: [] };
  if (links.length === 0) return outcome;
  const parts = partsByValue(links);
  let index = 0;
  let left = state.parts[0]?.rows ?? 0;
  let header = true;
  for await (const row of csvRecords(await source.open(state.csv), state.csv)) {
    if (header) {
      header = false;
      continue;
    }
    while (left === 0 && index < state.parts.length - 1) {
      index += 1;
      left = state.parts[index]?.rows ?? 0;
    }
    parts.add(row, index);
    left -= 1;
  }
  for (const [position, link] of links.entries()) {
    const joined = await joinChild(
      request,
      link,
      (value) => parts.partOf(link.parentColumn, value),
      position,
    );
    outcome.rows += joined.rows;
    outcome.failedRows += joined.failedRows;
    if (joined.failedRows > 0) outcome.failedFiles.push({ name: link.file, path: joined.failedPath });
    outcome.keys.push(joined.key);
  }
  return outcome;
}

/** One child CSV's rows, each joined to the result of the part it went in; the results file put. */
async function joinChild(
  request: ChildResultsRequest,
  link: FamilyLink,
  partOf: (value: string) => number | undefined,
  position: number,
) {
  const { deps, state, object, source, dir, resultZips } = request;
  const last = state.parts.length - 1;
  const results = await Promise.all(resultZips.map((path) => partResults(link.file, path, false)));
  const files = {
    all: join(dir, `child-${position}.results.csv`),
    failed: join(dir, `child-${position}.failed.csv`),
  };
  let written: ResultsWriter | undefined;
  try {
    for await (const row of csvRecords(await source.open(link.file), link.file)) {
      if (!written) {
        written = resultsWriter(files, row);
        continue;
      }
      const index = partOf(linkValue(row, link.childColumn)) ?? last;
      const part = state.parts[index];
      await written.add(row, (await results[index]?.next())?.value ?? (part ? notProcessed(part) : []));
    }
  } finally {
    await written?.end();
  }
  const key = resultsKey(deps, object.key, `.${link.file}.results.csv`);
  await put(deps, object.bucket, key, files.all, 'text/csv; charset=utf-8');
  const { rows, failedRows } = written?.counts ?? { rows: 0, failedRows: 0 };
  return { rows, failedRows, failedPath: files.failed, key };
}
