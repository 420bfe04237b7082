/** Checks on an attachment before it is pushed: its name and size are enough, no byte is read. */
import { formatOverLimit, InspectionError } from './errors.ts';
import { ATTACHMENT_MAX_BYTES } from './limits.ts';

export interface AttachmentFacts {
  fileName: string;
  size: number;
}

export interface AttachmentCheck {
  fileName: string;
  size: number;
  /** Default 100 MB (Zoho v2); the legacy API allowed 20 MB. */
  maxBytes?: number | undefined;
  /** What takes the file, for the reasons: `attachments` unless told. */
  target?: string;
}

// Zoho accepts every type but .exe (zoho-api.md "Attachments").
const FORBIDDEN_EXTENSIONS = ['exe'];

export function checkAttachment({
  fileName,
  size,
  maxBytes = ATTACHMENT_MAX_BYTES,
  target = 'attachments',
}: AttachmentCheck): AttachmentFacts {
  // Windows drops trailing dots and spaces, so "setup.EXE. " is still setup.exe.
  const effectiveName = fileName.replace(/[\s.\p{Cc}]+$/u, '');
  if (effectiveName === '') {
    throw new InspectionError(
      'INVALID_FILE_NAME',
      `The file name "${fileName}" is empty once trailing dots and spaces are removed; rename the file.`,
      { fileName },
    );
  }
  if (size === 0) {
    throw new InspectionError(
      'EMPTY_FILE',
      `"${fileName}" is empty (0 bytes); Zoho CRM does not accept empty ${target}.`,
      { fileName, size },
    );
  }
  if (size > maxBytes) {
    const text = formatOverLimit(size, maxBytes);
    throw new InspectionError(
      'FILE_TOO_LARGE',
      `"${fileName}" is ${text.size}; Zoho CRM accepts ${target} up to ${text.limit}. Split or compress the file.`,
      { fileName, size, maxBytes },
    );
  }
  const extension = /\.([^./\\]+)$/.exec(effectiveName)?.[1]?.toLowerCase();
  if (extension !== undefined && FORBIDDEN_EXTENSIONS.includes(extension)) {
    throw new InspectionError(
      'FORBIDDEN_TYPE',
      `"${fileName}" is a .${extension} file; Zoho CRM refuses .${extension} ${target}. Put it in a ZIP or use another format.`,
      { fileName, extension },
    );
  }
  return { fileName, size };
}
