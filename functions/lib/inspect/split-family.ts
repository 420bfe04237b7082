/**
 * A parent-child import (seed 003) cut into jobs Zoho takes: each part is one ZIP holding at most
 * 25,000 parent rows and, per child CSV, at most 25,000 rows, and every child row rides in the
 * part of the parent row it points at. A child row points at its parent by value: its link
 * column (the mapping with `parent_column_index`, crm-oas v8.0 bulk_write.json
 * #/components/schemas/Resource field_mappings) holds what the parent CSV's column at
 * `parent_column_index` holds.
 *
 * Parent rows are cut in their order (a part closes when one more parent, with its children,
 * would pass a limit); a child row whose value names no parent goes with the last part, where
 * Zoho reports it. Three passes, each streaming: the children counted per value, the parents cut,
 * the children sent to their parts. Rows wait in gzipped files under `dir`, never in memory; what
 * is kept is one entry per distinct link value.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { parse } from 'csv-parse';
import { ZipFile } from 'yazl';
import { csvParseOptions, DEFAULT_MAX_RECORD_BYTES, toInspectionError } from './csv.ts';
import { type CsvFileWriter, csvFileWriter } from './csv-writer.ts';
import { InspectionError } from './errors.ts';
import type { JobOptions } from './job-options.ts';
import { BULK_CSV_MAX_ROWS, BULK_ZIP_MAX_BYTES } from './limits.ts';

/** How one child CSV points at its parents: its column, the parent's column holding the same value. */
export interface FamilyLink {
  file: string;
  childColumn: number | undefined;
  parentColumn: number;
}

/** Each child's link, from job.json's `children` (bulk.ts checked that each has one). */
export function familyLinks(options: JobOptions): FamilyLink[] {
  return (options.children ?? []).map((child) => {
    const link = child.field_mappings.find((m) => m.parent_column_index !== undefined);
    return { file: child.file, childColumn: link?.index, parentColumn: link?.parent_column_index ?? 0 };
  });
}

/** The value a row links by (trimmed, as Zoho matches it); '' links to no parent. */
export const linkValue = (row: string[], column: number | undefined) =>
  column === undefined ? '' : (row[column] ?? '').trim();

/** Which part each parent link value went to: the first parent row holding it decides. */
export interface PartsByValue {
  /** The part of the row holding `value` in the parent's `column`, if any. */
  partOf(column: number, value: string): number | undefined;
  /** Records the parent row `row`, in part `part`; answers the part that value was already in, if another. */
  add(row: string[], part: number): void;
}

export function partsByValue(links: FamilyLink[]): PartsByValue {
  const maps = new Map(links.map((link) => [link.parentColumn, new Map<string, number>()]));
  return {
    partOf: (column, value) => (value === '' ? undefined : maps.get(column)?.get(value)),
    add(row, part) {
      for (const [column, map] of maps) {
        const value = linkValue(row, column);
        if (value !== '' && !map.has(value)) map.set(value, part);
      }
    },
  };
}

/** A CSV's records, parsed as every bulk reader parses them, the header first. */
export function csvRecords(stream: Readable, name: string): AsyncIterable<string[]> {
  const records = stream.pipe(parse(csvParseOptions(DEFAULT_MAX_RECORD_BYTES)));
  stream.on('error', (error) => records.destroy(error));
  return (async function* () {
    try {
      yield* records as AsyncIterable<string[]>;
    } catch (error) {
      throw toInspectionError(error, `"${name}"`, DEFAULT_MAX_RECORD_BYTES);
    }
  })();
}

export interface FamilySource {
  /** The parent CSV's name, then the children's, as job.json names them. */
  parent: string;
  links: FamilyLink[];
  open(csvName: string): Promise<Readable>;
}

export interface FamilyPart {
  path: string;
  size: number;
  /** Parent rows in the part. */
  rows: number;
}

export interface FamilySplitOptions {
  dir: string;
  /** Rows per CSV per part; default 25,000 (Zoho's limit per CSV). */
  maxRows?: number | undefined;
  /** Default 25 MB (Zoho's limit per ZIP). */
  maxPartBytes?: number | undefined;
}

/** Cuts the family into part ZIPs under `dir`, each file named as in the source. On failure nothing is left. */
export async function splitFamilyToZips(
  source: FamilySource,
  options: FamilySplitOptions,
): Promise<FamilyPart[]> {
  const maxRows = options.maxRows ?? BULK_CSV_MAX_ROWS;
  const files: string[] = [];
  const file = (name: string) => {
    const path = join(options.dir, `${files.length}.csv.gz`);
    files.push(path);
    return { name, path };
  };
  try {
    const counts = await countChildrenByValue(source);
    const cut = await cutParents(source, counts, maxRows, file);
    const children = await sendChildren(source, cut, maxRows, file);
    const parts: FamilyPart[] = [];
    for (const [index, parentFile] of cut.files.entries()) {
      const entries = [parentFile, ...children.map((perPart) => perPart[index] as CsvFile)];
      const path = join(options.dir, `family-part-${String(index + 1).padStart(3, '0')}.zip`);
      files.push(path);
      const size = await zipFiles(entries, path, options.maxPartBytes ?? BULK_ZIP_MAX_BYTES);
      parts.push({ path, size, rows: cut.rows[index] ?? 0 });
    }
    return parts;
  } catch (error) {
    await Promise.all(files.map((path) => rm(path, { force: true })));
    throw error;
  } finally {
    await Promise.all(files.filter((path) => path.endsWith('.gz')).map((path) => rm(path, { force: true })));
  }
}

interface CsvFile {
  /** Its name inside the part ZIP. */
  name: string;
  /** The gzipped CSV under `dir`. */
  path: string;
}

/** Each child's rows per link value: what a parent row brings into its part. */
async function countChildrenByValue(source: FamilySource): Promise<Array<Map<string, number>>> {
  const counts: Array<Map<string, number>> = [];
  for (const link of source.links) {
    const perValue = new Map<string, number>();
    let header = true;
    for await (const row of csvRecords(await source.open(link.file), link.file)) {
      if (header) {
        header = false;
        continue;
      }
      const value = linkValue(row, link.childColumn);
      perValue.set(value, (perValue.get(value) ?? 0) + 1);
    }
    counts.push(perValue);
  }
  return counts;
}

interface ParentCut {
  files: CsvFile[];
  /** Parent rows per part. */
  rows: number[];
  /** Each child's rows per part, the rows linking to no parent counted in the last part. */
  childRows: number[][];
  parts: PartsByValue;
}

/** The parent rows cut in order into parts, each within the limits with the children its rows bring. */
async function cutParents(
  source: FamilySource,
  counts: Array<Map<string, number>>,
  maxRows: number,
  file: (name: string) => CsvFile,
): Promise<ParentCut> {
  const { links } = source;
  const parts = partsByValue(links);
  const cut: ParentCut = { files: [], rows: [], childRows: [], parts };
  let writer: CsvFileWriter | undefined;
  let header: string[] | undefined;
  const claimed = links.map(() => 0);
  for await (const row of csvRecords(await source.open(source.parent), source.parent)) {
    if (!header) {
      header = row;
      continue;
    }
    const part = cut.files.length - 1;
    // What this row brings: the children of each value it is the first to hold.
    const brings = links.map((link, c) => {
      const value = linkValue(row, link.parentColumn);
      return value === '' || parts.partOf(link.parentColumn, value) !== undefined
        ? 0
        : (counts[c]?.get(value) ?? 0);
    });
    const tooMany = brings.findIndex((n) => n > maxRows);
    if (tooMany >= 0) throw tooManyChildren(source, tooMany, brings[tooMany] ?? 0, maxRows);
    const full =
      part < 0 ||
      (cut.rows[part] ?? 0) >= maxRows ||
      brings.some((n, c) => (cut.childRows[part]?.[c] ?? 0) + n > maxRows);
    if (full) {
      await writer?.end();
      const next = file(source.parent);
      writer = csvFileWriter(next.path, header, { gzip: true });
      cut.files.push(next);
      cut.rows.push(0);
      cut.childRows.push(links.map(() => 0));
    }
    const current = cut.files.length - 1;
    parts.add(row, current);
    await writer?.write(row);
    cut.rows[current] = (cut.rows[current] ?? 0) + 1;
    brings.forEach((n, c) => {
      const rows = cut.childRows[current] as number[];
      rows[c] = (rows[c] ?? 0) + n;
      claimed[c] = (claimed[c] ?? 0) + n;
    });
  }
  await writer?.end();
  if (cut.files.length === 0) throw new InspectionError('CSV_NO_ROWS', `"${source.parent}" has no rows.`);
  placeOrphans(source, counts, claimed, cut, maxRows);
  return cut;
}

/** Child rows whose value names no parent ride in the last part (Zoho reports each); refused when it has no room. */
function placeOrphans(
  source: FamilySource,
  counts: Array<Map<string, number>>,
  claimed: number[],
  cut: ParentCut,
  maxRows: number,
) {
  const last = cut.childRows.at(-1) as number[];
  for (const [c, link] of source.links.entries()) {
    const total = [...(counts[c]?.values() ?? [])].reduce((sum, n) => sum + n, 0);
    const orphans = total - (claimed[c] ?? 0);
    if ((last[c] ?? 0) + orphans > maxRows) {
      throw new InspectionError(
        'ZIP_PARENT_CHILD_TOO_LARGE',
        `"${link.file}" has ${orphans} rows whose link column names no row of "${source.parent}": with the last part's children they pass the ${maxRows} rows one job takes. Fix their link values, or drop them.`,
        { file: link.file, orphans, maxRows },
      );
    }
    last[c] = (last[c] ?? 0) + orphans;
  }
}

function tooManyChildren(source: FamilySource, c: number, rows: number, maxRows: number) {
  const file = source.links[c]?.file ?? '';
  return new InspectionError(
    'ZIP_PARENT_CHILD_TOO_LARGE',
    `One row of "${source.parent}" has ${rows} rows in "${file}"; a parent goes with all its children in one Zoho job, at most ${maxRows} rows per CSV: split that parent's children over several imports.`,
    { file, rows, maxRows },
  );
}

/** Each child's rows written to the part of their parent: per child, one file per part. */
async function sendChildren(
  source: FamilySource,
  cut: ParentCut,
  maxRows: number,
  file: (name: string) => CsvFile,
): Promise<CsvFile[][]> {
  const all: CsvFile[][] = [];
  const last = cut.files.length - 1;
  for (const link of source.links) {
    const files: CsvFile[] = [];
    const writers: CsvFileWriter[] = [];
    const written = cut.files.map(() => 0);
    let header = true;
    try {
      for await (const row of csvRecords(await source.open(link.file), link.file)) {
        if (header) {
          header = false;
          files.push(...cut.files.map(() => file(link.file)));
          writers.push(...files.map((next) => csvFileWriter(next.path, row, { gzip: true })));
          continue;
        }
        const part = cut.parts.partOf(link.parentColumn, linkValue(row, link.childColumn)) ?? last;
        written[part] = (written[part] ?? 0) + 1;
        // The count pass said where each row goes: the same bytes read again must agree.
        if ((written[part] ?? 0) > maxRows) throw new Error(`"${link.file}" changed while it was read`);
        await writers[part]?.write(row);
      }
    } finally {
      await Promise.all(writers.map((writer) => writer.end()));
    }
    all.push(files);
  }
  return all;
}

/** The part ZIP: each gzipped CSV inflated into its entry, streamed; refused past Zoho's size. */
async function zipFiles(entries: CsvFile[], path: string, maxBytes: number): Promise<number> {
  const zip = new ZipFile();
  for (const entry of entries)
    zip.addReadStream(createReadStream(entry.path).pipe(createGunzip()), entry.name);
  zip.end();
  await pipeline(zip.outputStream as Readable, createWriteStream(path));
  const { size } = await stat(path);
  if (size > maxBytes) {
    throw new InspectionError(
      'ZIP_PART_TOO_LARGE',
      "A part of this parent-child import compresses to more than 25 MB, Zoho's limit per ZIP: split the parents and their children into several ZIPs.",
      { size, maxBytes },
    );
  }
  return size;
}
