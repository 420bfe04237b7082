import { describe, expect, it } from 'vitest';
import { InspectionError } from '#lib/inspect/errors.ts';
import { isLinkObject, LINK_MAX_BYTES, parseLink } from '#lib/inspect/link.ts';

const parse = (fileName: string, text: string | Buffer) => {
  const bytes = Buffer.from(text);
  return parseLink(fileName, bytes.length, bytes);
};

describe('link objects', () => {
  it('knows a link by its extension or its content type', () => {
    expect(isLinkObject('Site.URL', undefined)).toBe(true);
    expect(isLinkObject('Site.webloc', undefined)).toBe(true);
    expect(isLinkObject('links', 'text/uri-list; charset=utf-8')).toBe(true);
    expect(isLinkObject('notes.txt', 'text/plain')).toBe(false);
  });

  it('reads a Windows Internet shortcut, only from its [InternetShortcut] section', () => {
    const text =
      '[DEFAULT]\r\nURL=https://wrong.example.com/\r\n[InternetShortcut]\r\nIconIndex=0\r\nURL=https://www.example.com/a?b=1&c=2\r\n';
    expect(parse('Price list.url', text)).toEqual({
      url: 'https://www.example.com/a?b=1&c=2',
      title: 'Price list',
    });
  });

  it('reads a macOS .webloc (XML property list), entities decoded', () => {
    const text =
      '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict>\n<key>URL</key>\n<string>https://www.example.com/?a=1&amp;b=2</string>\n</dict></plist>\n';
    expect(parse('Brochure.webloc', text)).toEqual({
      url: 'https://www.example.com/?a=1&b=2',
      title: 'Brochure',
    });
  });

  it('reads the first URL of a text/uri-list, skipping comments', () => {
    expect(parse('links', '# saved\r\nhttps://www.example.com/x\r\nhttps://other.example.com/\r\n').url).toBe(
      'https://www.example.com/x',
    );
  });

  it.each([
    ['a .url without URL=', 'no url.url', '[InternetShortcut]\nIconIndex=0\n'],
    ['a non-http scheme', 'files.url', '[InternetShortcut]\nURL=file:///C:/secret.txt\n'],
    ['a binary plist', 'bin.webloc', Buffer.from('bplist00\u00d1\u0001\u0002SURL')],
    ['javascript', 'x.url', '[InternetShortcut]\nURL=javascript:alert(1)\n'],
  ])('refuses %s with INVALID_LINK', (_what, fileName, text) => {
    expect(() => parse(fileName, text)).toThrow(InspectionError);
    expect(() => parse(fileName, text)).toThrow(/no http\(s\) link/);
  });

  it('refuses a "link" too large to be one, without reading it', () => {
    expect(() => parseLink('big.url', LINK_MAX_BYTES + 1, Buffer.alloc(0))).toThrow(
      /too large for a link file/,
    );
  });
});
