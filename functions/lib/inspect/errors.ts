/**
 * A file refused before any byte of it leaves S3. Sending it again cannot help (`retryable` is
 * always false): a person has to change the file, and `message` tells them what to change.
 * Failures to *read* the object (S3 errors) are not InspectionErrors and keep their own retry rules.
 */

export type InspectionCode =
  | 'EMPTY_FILE'
  | 'FILE_TOO_LARGE'
  | 'INVALID_FILE_NAME'
  | 'FORBIDDEN_TYPE'
  | 'UNSUPPORTED_IMAGE'
  | 'CORRUPT_IMAGE'
  | 'IMAGE_TOO_LARGE'
  | 'PHOTO_NOT_SUPPORTED'
  | 'INVALID_LINK'
  | 'NOT_A_ZIP'
  | 'CORRUPT_ZIP'
  | 'UNSUPPORTED_ZIP'
  | 'ZIP_TOO_LARGE'
  | 'ZIP_TOO_MANY_ENTRIES'
  | 'ZIP_UNSAFE_ENTRY_NAME'
  | 'ZIP_ENCRYPTED'
  | 'ZIP_NO_CSV'
  | 'ZIP_MULTIPLE_CSV'
  | 'ZIP_PART_TOO_LARGE'
  | 'ZIP_PARENT_CHILD_TOO_LARGE'
  | 'CSV_EMPTY'
  | 'CSV_NO_ROWS'
  | 'CSV_TOO_MANY_COLUMNS'
  | 'CSV_EMPTY_HEADER'
  | 'BULK_TOO_MANY_ROWS'
  | 'BULK_TOO_LARGE_INFLATED'
  | 'BULK_UPDATE_NEEDS_FIND_BY'
  | 'INVALID_CSV'
  | 'INVALID_JOB_JSON'
  | 'INVALID_JOB_METADATA';

export class InspectionError extends Error {
  readonly code: InspectionCode;
  readonly retryable = false;
  readonly details: Record<string, unknown>;

  constructor(code: InspectionCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'InspectionError';
    this.code = code;
    this.details = details;
  }

  /** What goes into a log line, a tag or a DLQ message: ZohoError's shape (zoho/errors.ts), our details. */
  toJSON(): Record<string, unknown> {
    const { name, code, retryable, message, details } = this;
    return { name, code, retryable, message, details };
  }
}

/** `26214400` → `"25 MB"`, `1536` → `"1.5 KB"`, `7` → `"7 bytes"` (1 KB = 1024 bytes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const rounded = Math.round(value * 10) / 10;
  return `${rounded} ${units[unit]}`;
}

/** A size and its limit in human units, exact byte counts added when rounding would make them look equal. */
export function formatOverLimit(size: number, limit: number): { size: string; limit: string } {
  const sizeText = formatBytes(size);
  const limitText = formatBytes(limit);
  if (sizeText !== limitText) return { size: sizeText, limit: limitText };
  return { size: `${sizeText} (${size} bytes)`, limit: `${limitText} (${limit} bytes)` };
}
