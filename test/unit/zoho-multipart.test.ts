import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { contentDisposition, multipartFileBody } from '#zoho/multipart.ts';

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of iterable) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('Content-Disposition', () => {
  it('sends a plain ASCII name as it is, without filename*', () => {
    expect(contentDisposition('file', 'report-2026.pdf')).toBe(
      'form-data; name="file"; filename="report-2026.pdf"',
    );
  });

  it('adds RFC 5987 filename* for a non-ASCII name, with an ASCII-safe filename', () => {
    expect(contentDisposition('file', 'Résumé 東京.pdf')).toBe(
      `form-data; name="file"; filename="Resume __.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E6%9D%B1%E4%BA%AC.pdf`,
    );
  });

  it('keeps quotes, backslashes, CR and LF out of the quoted string', () => {
    const header = contentDisposition('file', 'a"b\\c\r\nX-Evil: 1.txt');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toContain('filename="a_b_c__X-Evil: 1.txt"');
    expect(header).toContain(`filename*=UTF-8''a%22b%5Cc%0D%0AX-Evil%3A%201.txt`);
    expect(header.match(/"/g)).toHaveLength(4);
  });

  it('percent-encodes what RFC 5987 attr-char leaves out', () => {
    const encoded = (name: string) => contentDisposition('file', name).split("filename*=UTF-8''")[1];
    expect(encoded("it's (1)*é")).toBe('it%27s%20%281%29%2A%C3%A9');
    expect(encoded('a!#$&+-.^_`|~zé')).toBe('a!#$&+-.^_`|~z%C3%A9');
    expect(encoded('\uD800x')).toBe('%EF%BF%BDx');
  });

  it('never gives an empty ASCII name', () => {
    expect(contentDisposition('file', '')).toContain('filename="file"');
    expect(contentDisposition('file', '東京')).toContain('filename="__"');
  });
});

describe('multipart body', () => {
  it('announces exactly the bytes it produces, and streams the file untouched', async () => {
    const content = Buffer.from(`${'x'.repeat(200_000)}end`);
    const body = multipartFileBody('file', {
      body: Readable.from([content.subarray(0, 70_000), content.subarray(70_000)]),
      fileName: 'Résumé 東京.pdf',
      size: content.length,
      contentType: 'application/pdf',
    });
    expect(body.canResend()).toBe(true);
    const bytes = await collect(body.open());
    expect(body.canResend()).toBe(false);
    expect(bytes.length).toBe(body.length);
    const boundary = body.contentType.replace('multipart/form-data; boundary=', '');
    const start = bytes.indexOf('\r\n\r\n') + 4;
    expect(bytes.subarray(0, start).toString('latin1')).toBe(
      `--${boundary}\r\n` +
        `Content-Disposition: form-data; name="file"; filename="Resume __.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E6%9D%B1%E4%BA%AC.pdf\r\n` +
        'Content-Type: application/pdf\r\n\r\n',
    );
    expect(bytes.subarray(start, start + content.length).equals(content)).toBe(true);
    expect(bytes.subarray(start + content.length).toString('latin1')).toBe(`\r\n--${boundary}--\r\n`);
  });

  it('is read once only', async () => {
    const body = multipartFileBody('file', {
      body: Readable.from([Buffer.from('a')]),
      fileName: 'a.txt',
      size: 1,
    });
    await collect(body.open());
    await expect(collect(body.open())).rejects.toThrow(/once/);
  });

  it('carries a stream error that happened while waiting, without crashing the process', async () => {
    const source = new Readable({ read() {} });
    const body = multipartFileBody('file', { body: source, fileName: 'a.txt', size: 10 });
    source.destroy(new Error('S3 went away'));
    await new Promise((resolve) => setImmediate(resolve));
    await expect(collect(body.open())).rejects.toThrow('S3 went away');
  });

  it('destroys an unread source when disposed', () => {
    const source = new Readable({ read() {} });
    const body = multipartFileBody('file', { body: source, fileName: 'a.txt', size: 10 });
    body.dispose();
    expect(source.destroyed).toBe(true);
  });
});
