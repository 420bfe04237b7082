/**
 * The outcome tags: every tag the pipeline writes on an object, which of them keep their place
 * first when S3's 10 tags leave no room for all, how an outcome is written as tags (`tagsOf`) and
 * read back from them (`readOutcome`, its exact inverse). The names and values are what users'
 * automation reads on the objects: change them only with the README's tag table.
 *
 * A leaf: it imports nothing, so the S3 layer (s3/tags.ts, which merges these tags with the
 * user's) and the operator tools can read it as the pipeline does.
 */

/** What our tags on an object say, each field one tag; a field left out is a tag not written. */
export interface TaggedOutcome {
  /** `zoho-status`: a TagStatus, or whatever a person wrote there. */
  status?: string | undefined;
  /** `zoho-attempt`: when the upload under way (or the last one) began, ISO 8601. */
  attempt?: string | undefined;
  /** `zoho-retry-at`: when a `retrying` push is tried again within the run, ISO 8601. */
  retryAt?: string | undefined;
  /** `zoho-id`: Zoho's id of what was made (attachment id; a bulk import's job ids, space-separated). */
  zohoId?: string | undefined;
  /** `zoho-error`: the failure's code (Zoho's own when Zoho refused). */
  code?: string | undefined;
  /** `zoho-reason`: what was wrong and what to do (a short form once on S3: s3/tags.ts `tagValue`). */
  reason?: string | undefined;
  /** `zoho-at`: when the outcome was written, ISO 8601. */
  at?: string | undefined;
  /** `zoho-failed`: a bulk import's rows that failed. */
  failed?: number | undefined;
  /** `zoho-added`: a bulk import's rows added. */
  added?: number | undefined;
  /** `zoho-updated`: a bulk import's rows updated. */
  updated?: number | undefined;
  /** `zoho-skipped`: a bulk import's rows skipped. */
  skipped?: number | undefined;
  /** `zoho-results`: the key of a bulk import's results CSV. */
  results?: string | undefined;
  /** `zoho-failed-rows`: the key of the ZIP of a bulk import's failed rows, when rows failed. */
  failedRows?: string | undefined;
  /** `zoho-parts`: how many bulk write jobs an import being pushed runs. */
  parts?: number | undefined;
  /** `zoho-photo`: the photo pushed, `<format> <width>x<height>` (e.g. `png 640x480`). */
  photo?: string | undefined;
}

/**
 * Every tag of ours, by the field it holds. The order is the priority: when the user's own tags
 * leave room for only some of ours, the first ones stay. The status first (what the pipeline and
 * a person read first), the attempt time next (a `pushing` status is useless without it), then
 * the Zoho id, the error, the reason, the time, the counts, the rest.
 */
const TAG_OF = {
  status: 'zoho-status',
  attempt: 'zoho-attempt',
  retryAt: 'zoho-retry-at',
  zohoId: 'zoho-id',
  code: 'zoho-error',
  reason: 'zoho-reason',
  at: 'zoho-at',
  failed: 'zoho-failed',
  added: 'zoho-added',
  updated: 'zoho-updated',
  skipped: 'zoho-skipped',
  results: 'zoho-results',
  failedRows: 'zoho-failed-rows',
  parts: 'zoho-parts',
  photo: 'zoho-photo',
} as const satisfies Record<keyof TaggedOutcome, `zoho-${string}`>;

type Field = keyof TaggedOutcome;
const FIELDS = Object.keys(TAG_OF) as Field[];
/** The fields that hold a whole number. */
const COUNTS: ReadonlySet<Field> = new Set<Field>(['failed', 'added', 'updated', 'skipped', 'parts']);

/** What every tag of ours starts with: a tag that does not is the user's, never touched. */
export const OUR_TAG_PREFIX = 'zoho-';

/** Our tag names, most important first (see TAG_OF). */
export const OUTCOME_TAG_PRIORITY: readonly string[] = FIELDS.map((field) => TAG_OF[field]);

/** The `zoho-status` values the pipeline writes. */
type TagStatus = 'done' | 'failed' | 'skipped' | 'pushing' | 'retrying';

/** After these the pipeline writes nothing more on the object (but for a replay). */
const FINAL_STATUSES: ReadonlySet<string> = new Set<TagStatus>(['done', 'failed', 'skipped']);

/** Whether the status is final: `done`, `failed` or `skipped`. */
export function isFinal(status: string | undefined): boolean {
  return status !== undefined && FINAL_STATUSES.has(status);
}

/** The tags saying the outcome, most important first; a field left out (or undefined) is no tag. */
export function tagsOf(outcome: TaggedOutcome): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const field of FIELDS) {
    const value = outcome[field];
    if (value !== undefined) tags[TAG_OF[field]] = String(value);
  }
  return tags;
}

/**
 * What our tags among these say (the user's are ignored): `readOutcome(tagsOf(o))` is `o`. No
 * `zoho-status` (a status of undefined) means the pipeline has recorded nothing on the object. A
 * count that is not a whole number is left out.
 */
export function readOutcome(tags: Readonly<Record<string, string>>): TaggedOutcome {
  const outcome: Record<string, string | number> = {};
  for (const field of FIELDS) {
    const value = tags[TAG_OF[field]];
    if (value === undefined) continue;
    if (!COUNTS.has(field)) outcome[field] = value;
    else if (/^\d+$/.test(value)) outcome[field] = Number(value);
  }
  return outcome as TaggedOutcome;
}
