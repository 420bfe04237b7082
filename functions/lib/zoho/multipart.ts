/**
 * A multipart/form-data body with one streamed file part, never held in memory. The exact total
 * is known up front (the part's head, the file's size, form-data's closing lines) and sent as
 * `Content-Length`. The form is built only when the first byte is asked for: until then the
 * source stream is untouched and the request may still be sent again.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import FormData from 'form-data';
import type { RequestBody } from './http.ts';
import type { UploadFile } from './types.ts';

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** Chunk size between form-data and the socket: bounds what is buffered in this process. */
const CHUNK_BYTES = 64 * 1024;

export function multipartFileBody(field: string, file: UploadFile): RequestBody {
  const boundary = `----s3-to-zoho-${randomBytes(12).toString('hex')}`;
  // form-data only fills in headers it lacks, so the whole part head is given as a string.
  const header = partHead(boundary, field, file.fileName, file.contentType || DEFAULT_CONTENT_TYPE);
  const partOptions = { knownLength: file.size, header };
  // What form-data writes after the file: a line break, then the closing boundary.
  const length = Buffer.byteLength(header) + file.size + Buffer.byteLength(`\r\n--${boundary}--\r\n`);
  const source = file.body;
  let sourceError: unknown;
  const noteError = (error: unknown) => {
    sourceError ??= error;
  };
  // An S3 stream that fails while we wait for a token or a turn must not crash the process.
  source.on('error', noteError);
  let touched = false;
  let form: FormData | undefined;

  return {
    length,
    contentType: `multipart/form-data; boundary=${boundary}`,
    canResend: () => !touched,
    async *open() {
      if (touched) throw new Error('A streamed upload body can be read once only');
      touched = true;
      if (sourceError !== undefined) throw sourceError;
      if (source.destroyed || source.readableEnded)
        throw new Error('The file stream was closed before the upload');
      form = new FormData();
      form.setBoundary(boundary);
      form.append(field, source, partOptions);
      const pipe = new PassThrough({ highWaterMark: CHUNK_BYTES });
      form.on('error', (error: Error) => pipe.destroy(error));
      form.pipe(pipe);
      yield* pipe;
    },
    dispose() {
      source.off('error', noteError);
      if (!source.destroyed && !source.readableEnded) source.destroy();
      form?.destroy();
    },
  };
}

function partHead(boundary: string, field: string, fileName: string, contentType: string): string {
  const safeType = contentType.replace(/[^\x20-\x7e]/g, '');
  return `--${boundary}\r\nContent-Disposition: ${contentDisposition(field, fileName)}\r\nContent-Type: ${safeType}\r\n\r\n`;
}

/**
 * `form-data; name="file"; filename="…"` with an ASCII-safe `filename`, plus RFC 5987
 * `filename*=UTF-8''…` whenever the ASCII form is not the exact name. Quotes, backslashes and
 * control characters never reach the quoted string, so no name can break the header.
 */
export function contentDisposition(field: string, fileName: string): string {
  const fallback = asciiFileName(fileName);
  const parts = ['form-data', `name="${asciiFileName(field)}"`, `filename="${fallback}"`];
  if (fallback !== fileName) parts.push(`filename*=UTF-8''${encodeRfc5987(fileName)}`);
  return parts.join('; ');
}

/** `Résumé 東京.pdf` → `Resume __.pdf`: accents dropped, anything else outside printable ASCII, `"` and `\` → `_`. */
function asciiFileName(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[^\x20-\x7e]|["\\]/gu, '_');
  return ascii.length > 0 ? ascii : 'file';
}

/** RFC 5987 value-chars: attr-char stays, every other UTF-8 byte is %XX (lone surrogates become U+FFFD). */
function encodeRfc5987(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(char)
      ? char
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
