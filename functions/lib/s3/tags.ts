/**
 * The outcome of a push, written on the object as tags beside the user's own, within what S3
 * takes (10 tags, their length and characters). Our tags are the ones whose key starts with
 * `zoho-`: each outcome replaces all of them, and never a user's tag. Which tags there are, and
 * which go first, is pipeline/outcome-tags.ts.
 */
import {
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import type { Log } from '#lib/log.ts';
import { OUR_TAG_PREFIX, OUTCOME_TAG_PRIORITY } from '#lib/pipeline/outcome-tags.ts';

/** S3: at most 10 tags per object. */
export const MAX_TAGS = 10;
/** S3: tag keys up to 128 characters, values up to 256. */
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** AWS tag characters: letters, digits, spaces (any UTF-8), and `_ . : / = + - @`. */
const TAG_CHARACTER = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]$/u;

export interface MergedTags {
  tags: Tag[];
  /** Our tags that did not fit. */
  dropped: string[];
}

/**
 * The user's tags, untouched, then our outcome in priority order (OUTCOME_TAG_PRIORITY; tags not
 * listed last, in given order), as many as fit in 10. Should the user already have 10 of their
 * own, none of ours is written (not even `zoho-status`): deleting a person's tag to make room
 * would surprise more than an outcome found only in the logs, metrics and the idempotency ledger.
 * What is dropped is said (writeOutcome warns).
 */
export function planOutcomeTags(existing: readonly Tag[], outcome: Record<string, string>): MergedTags {
  const userTags = existing.filter((tag) => !(tag.Key ?? '').startsWith(OUR_TAG_PREFIX));
  const ours = Object.entries(outcome)
    .map(([key, value]) => ({ Key: sanitize(key, MAX_KEY_LENGTH), Value: sanitize(value, MAX_VALUE_LENGTH) }))
    .sort((a, b) => rank(a.Key) - rank(b.Key));
  const room = Math.max(MAX_TAGS - userTags.length, 0);
  return {
    tags: [...userTags, ...ours.slice(0, room)],
    dropped: ours.slice(room).map((tag) => tag.Key),
  };
}

/**
 * Punctuation S3 refuses in tags, written the nearest way it accepts, so that a reason stays a
 * sentence ("equal to a@b.c: create it or name the id") rather than `_` soup. Quotes, commas and
 * brackets go; what is left unmatched becomes `_`.
 */
const TAG_SPELLING: ReadonlyArray<[RegExp, string]> = [
  [/["'`‘’“”«»()[\]{}<>*,$^]/g, ''],
  [/;/g, ' -'],
  [/[!?]/g, '.'],
  [/#/g, 'no.'],
  [/%/g, ' percent'],
  [/&/g, ' and '],
  [/[|\\]/g, '/'],
  [/[~–—→]/g, '-'],
  [/…/g, '...'],
  [/×/g, 'x'],
  [/\s+/g, ' '],
];

/** A tag key or value S3 accepts: punctuation respelled (see TAG_SPELLING), too long cut (ending in `...`). */
function sanitize(text: string, maxLength: number): string {
  const spelled = TAG_SPELLING.reduce(
    (value, [pattern, replacement]) => value.replace(pattern, replacement),
    text,
  );
  const characters = Array.from(spelled.trim(), (c) => (TAG_CHARACTER.test(c) ? c : '_'));
  if (characters.length <= maxLength) return characters.join('');
  return `${characters.slice(0, maxLength - 3).join('')}...`;
}

/** What a tag value holding `text` reads: the same text when S3 takes it as it is, a short form otherwise. */
export function tagValue(text: string): string {
  return sanitize(text, MAX_VALUE_LENGTH);
}

function sameTags(a: readonly Tag[], b: readonly Tag[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag.Key === b[i]?.Key && tag.Value === b[i]?.Value);
}

function rank(key: string): number {
  const index = OUTCOME_TAG_PRIORITY.indexOf(key);
  return index < 0 ? OUTCOME_TAG_PRIORITY.length : index;
}

export async function readTags(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Tag[]> {
  const answer = await s3.send(
    new GetObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
  );
  return answer.TagSet ?? [];
}

/** An object's tags as a map, key to value. */
export async function readTagMap(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId?: string,
): Promise<Record<string, string>> {
  return tagMap(await readTags(s3, bucket, key, versionId));
}

export function tagMap(tags: readonly Tag[]): Record<string, string> {
  return Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? '']));
}

export interface OutcomeWriting {
  /** Told, as a warning with the key, of our tags the user's own left no room for. */
  log: Log;
  /** Called with the tags dropped (e.g. to count them). */
  onDropped?: ((dropped: string[]) => void) | undefined;
  /** Leave the tags as they are when this holds for them (e.g. never overwrite a `done`). */
  unless?: ((tags: Record<string, string>) => boolean) | undefined;
  /**
   * The object's tags as the caller has just read them, to spare reading them again. A user's
   * change made since that read is lost, so pass only a read made a moment before.
   */
  existing?: readonly Tag[] | undefined;
}

/**
 * Reads the tags (unless given), merges the outcome, writes them back; false when `unless` held
 * and nothing was written. S3 has no conditional tagging, so a tag a user changes between the
 * read and the write is lost: the window is one round trip.
 */
export async function writeOutcome(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
  outcome: Record<string, string>,
  writing: OutcomeWriting,
): Promise<boolean> {
  const existing = writing.existing ?? (await readTags(s3, bucket, key, versionId));
  if (writing.unless?.(tagMap(existing))) return false;
  const { tags, dropped } = planOutcomeTags(existing, outcome);
  if (dropped.length > 0) {
    const userTags = tags.length - (Object.keys(outcome).length - dropped.length);
    writing.log.warn(
      `No room for ${dropped.length} of our outcome tags: the object has ${userTags} tags of its own and S3 allows ${MAX_TAGS}; remove some of them to see the outcome on the object`,
      { bucket, key, dropped, outcome },
    );
    writing.onDropped?.(dropped);
  }
  if (sameTags(tags, existing)) return true;
  await s3.send(
    new PutObjectTaggingCommand({
      Bucket: bucket,
      Key: key,
      VersionId: versionId,
      Tagging: { TagSet: tags },
    }),
  );
  return true;
}
