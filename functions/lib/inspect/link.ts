/**
 * Objects that are a link, not a file: a Windows Internet shortcut (`.url`: `[InternetShortcut]`
 * then `URL=…`), a macOS `.webloc` (an XML property list whose `URL` key holds it), or an object
 * stored as `text/uri-list` (RFC 2483: one URL a line, `#` comments). Each becomes a Zoho link
 * attachment (`attachmentUrl`, seeds 001 and 002) titled with the file name without its extension.
 */
import { InspectionError } from './errors.ts';

/** A link file is a few hundred bytes; anything larger is not one. */
export const LINK_MAX_BYTES = 64 * 1024;
/** Browsers and Zoho's URL fields stop around 2,000 characters. */
const URL_MAX_LENGTH = 2000;

export interface Link {
  url: string;
  title: string;
}

/** Whether the object is to be read as a link (by its name or its content type). */
export function isLinkObject(fileName: string, contentType: string | undefined): boolean {
  return /\.(url|webloc)$/i.test(fileName) || /^text\/uri-list\b/i.test(contentType ?? '');
}

export function parseLink(fileName: string, size: number, bytes: Buffer): Link {
  if (size > LINK_MAX_BYTES) {
    throw new InspectionError(
      'INVALID_LINK',
      `"${fileName}" is ${size} bytes: too large for a link file (at most ${LINK_MAX_BYTES}). Rename it if it is a file to attach.`,
      { fileName, size },
    );
  }
  const text = bytes.toString('utf8');
  const url = /\.url$/i.test(fileName)
    ? internetShortcutUrl(text)
    : /\.webloc$/i.test(fileName)
      ? weblocUrl(text, bytes)
      : uriListUrl(text);
  return { url: checkUrl(fileName, url), title: fileName.replace(/\.(url|webloc)$/i, '') || fileName };
}

function internetShortcutUrl(text: string): string | undefined {
  let inSection = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (/^\[.*\]$/.test(line)) inSection = line.toLowerCase() === '[internetshortcut]';
    else if (inSection && /^url\s*=/i.test(line)) return line.slice(line.indexOf('=') + 1).trim();
  }
  return undefined;
}

function weblocUrl(text: string, bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).toString('latin1') === 'bplist00') return undefined; // binary plist: said below
  const match = /<key>\s*URL\s*<\/key>\s*<string>([^<]*)<\/string>/i.exec(text);
  return match?.[1] ? decodeXml(match[1].trim()) : undefined;
}

function uriListUrl(text: string): string | undefined {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .find((line) => line !== '' && !line.startsWith('#'));
}

function decodeXml(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function checkUrl(fileName: string, url: string | undefined): string {
  let parsed: URL | undefined;
  try {
    parsed = url ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!url || !parsed || !/^https?:$/.test(parsed.protocol) || url.length > URL_MAX_LENGTH) {
    throw new InspectionError(
      'INVALID_LINK',
      `"${fileName}" holds no http(s) link Zoho can attach (a .url needs [InternetShortcut] and URL=, a .webloc an XML plist with a URL key, text/uri-list a URL line, under ${URL_MAX_LENGTH} characters).`,
      { fileName },
    );
  }
  return url;
}
