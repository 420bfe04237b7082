/** Small tools for the sandbox tests: tokens, authorized calls, real multipart bodies, image headers, ZIPs. */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { fromBuffer } from 'yauzl';
import { ZipFile } from 'yazl';
import type { Sandbox } from '#sandbox/server.ts';

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

export async function tokenRequest(
  sandbox: Sandbox,
  params: Record<string, string>,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${sandbox.accountsUrl}/oauth/v2/token`, {
    method: 'POST',
    body: new URLSearchParams(params),
  });
  if (response.status !== 200) throw new Error(`token endpoint answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

export function refreshParams(sandbox: Sandbox): Record<string, string> {
  return {
    grant_type: 'refresh_token',
    client_id: sandbox.credentials.clientId,
    client_secret: sandbox.credentials.clientSecret,
    refresh_token: sandbox.credentials.refreshToken,
  };
}

export async function mintToken(sandbox: Sandbox): Promise<string> {
  const answer = await tokenRequest(sandbox, refreshParams(sandbox));
  if (typeof answer.access_token !== 'string') throw new Error(`no token: ${JSON.stringify(answer)}`);
  return answer.access_token;
}

/** A client bound to one token: `call('/crm/v8/org')` against the API host, or a full URL. */
export function client(sandbox: Sandbox, token: string) {
  return (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    if (!headers.has('authorization')) headers.set('authorization', `Zoho-oauthtoken ${token}`);
    return fetch(path.startsWith('http') ? path : `${sandbox.apiUrl}${path}`, { ...init, headers });
  };
}

export interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  /** Sent as RFC 5987 `filename*=UTF-8''…` (with an ASCII `filename` fallback). */
  filenameStar?: string;
  contentType?: string;
}

/** A real multipart/form-data body, written by hand so the exact header bytes are under test. */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = '----sandbox-test-7f3a9c';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let disposition = `form-data; name="${part.name}"`;
    if (part.filenameStar !== undefined) {
      const fallback = part.filenameStar.replace(/[^\x20-\x7e]/g, '_');
      disposition += `; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(part.filenameStar)}`;
    } else if (part.filename !== undefined) {
      disposition += `; filename="${part.filename}"`;
    }
    let head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n`;
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function fileForm(data: Buffer | string, filename: string): { body: Buffer; contentType: string } {
  return multipart([{ name: 'file', data, filename, contentType: 'application/octet-stream' }]);
}

/** POST a multipart body with an exact Content-Length. */
export function postForm(
  call: ReturnType<typeof client>,
  path: string,
  form: { body: Buffer; contentType: string },
  headers: Record<string, string> = {},
) {
  return call(path, {
    method: 'POST',
    body: form.body,
    headers: { 'content-type': form.contentType, ...headers },
  });
}

/** A PNG signature and IHDR chunk: enough for any header reader, whatever size it declares. */
export function png(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]);
  };
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function gif(width: number, height: number): Buffer {
  const head = Buffer.alloc(13);
  head.write('GIF89a', 0, 'latin1');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  return Buffer.concat([head, Buffer.from([0x3b])]);
}

export function bmp(width: number, height: number): Buffer {
  const head = Buffer.alloc(54);
  head.write('BM', 0, 'latin1');
  head.writeUInt32LE(54, 2);
  head.writeUInt32LE(54, 10);
  head.writeUInt32LE(40, 14);
  head.writeInt32LE(width, 18);
  head.writeInt32LE(height, 22);
  head.writeUInt16LE(1, 26);
  head.writeUInt16LE(24, 28);
  return head;
}

export async function zip(files: Array<{ name: string; data: string | Buffer }>): Promise<Buffer> {
  const archive = new ZipFile();
  for (const file of files) archive.addBuffer(Buffer.from(file.data), file.name);
  archive.end();
  return Buffer.concat(await (archive.outputStream as Readable).toArray());
}

/** The entries of a ZIP as text, by name. */
export async function unzip(data: Buffer): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    fromBuffer(data, { lazyEntries: true }, (error, archive) => {
      if (error) return reject(error);
      const out: Record<string, string> = {};
      archive.on('entry', (entry) => {
        archive.openReadStream(entry, async (streamError, stream) => {
          if (streamError) return reject(streamError);
          out[entry.fileName] = Buffer.concat(await stream.toArray()).toString('utf8');
          archive.readEntry();
        });
      });
      archive.on('end', () => resolve(out));
      archive.on('error', reject);
      archive.readEntry();
    });
  });
}
