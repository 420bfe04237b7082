/** Zoho's documented limits on what we push (zoho-api.md). A "MB" here is 1024 × 1024 bytes. */

export const MB = 1024 * 1024;

/** Attachments: 100 MB per the v2 docs; the legacy API allowed 20 MB, so it is configurable. */
export const ATTACHMENT_MAX_BYTES = 100 * MB;

/**
 * A file-upload field: each file at most 20 MB (Zoho's file store, ZFS). ⚠ Issue 8's figure:
 * crm-oas v8.0 files.json names the refusal (FILE_SIZE_MORE_THAN_ALLOWED_SIZE), not the size.
 */
export const FIELD_FILE_MAX_BYTES = 20 * MB;

/** Photo: at most 10 MB ("Photo" in zoho-api.md). */
export const PHOTO_MAX_BYTES = 10 * MB;

/** Photo: at most 10 megapixels ("Photo" in zoho-api.md). */
export const PHOTO_MAX_PIXELS = 10_000_000;

/** Bulk write: the uploaded ZIP is at most 25 MB. */
export const BULK_ZIP_MAX_BYTES = 25 * MB;

/** Bulk write: each CSV holds at most 25,000 records. */
export const BULK_CSV_MAX_ROWS = 25_000;

/** Bulk write: each CSV has at most 200 columns. */
export const BULK_CSV_MAX_COLUMNS = 200;
