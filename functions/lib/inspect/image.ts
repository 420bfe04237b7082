/**
 * Photo checks: the format by magic bytes and the dimensions from the header, reading only
 * the first 64 KB (and, for a JPEG whose metadata segments are large, a few more small ranges).
 */
import { formatBytes, formatOverLimit, InspectionError } from './errors.ts';
import { MB, PHOTO_MAX_BYTES, PHOTO_MAX_PIXELS } from './limits.ts';
import type { RangeReader } from './range-reader.ts';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp';

export interface ImageFacts {
  format: ImageFormat;
  width: number;
  height: number;
  contentType: string;
}

export interface ImageLimits {
  /** Default 10 MB. */
  maxBytes?: number | undefined;
  /** Default 10,000,000 pixels. */
  maxPixels?: number | undefined;
}

const HEAD_BYTES = 64 * 1024;
/** How far into a JPEG to look for its frame header (past EXIF, ICC and other metadata). */
const JPEG_SCAN_BYTES = MB;
const JPEG_READ_BYTES = 16 * 1024;

const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
};

export async function inspectImage(reader: RangeReader, limits: ImageLimits = {}): Promise<ImageFacts> {
  const maxBytes = limits.maxBytes ?? PHOTO_MAX_BYTES;
  const maxPixels = limits.maxPixels ?? PHOTO_MAX_PIXELS;
  if (reader.size === 0) {
    throw new InspectionError('EMPTY_FILE', 'The photo is empty (0 bytes).', { size: 0 });
  }
  if (reader.size > maxBytes) {
    const text = formatOverLimit(reader.size, maxBytes);
    throw new InspectionError(
      'FILE_TOO_LARGE',
      `The photo is ${text.size}; Zoho CRM accepts photos up to ${text.limit}. Resize or recompress it.`,
      { size: reader.size, maxBytes },
    );
  }
  const head = await reader.read(0, Math.min(reader.size, HEAD_BYTES));
  const format = sniffFormat(head);
  if (format === undefined) {
    const seen = describeOtherFormat(head);
    throw new InspectionError(
      'UNSUPPORTED_IMAGE',
      `The photo is ${seen}; Zoho CRM accepts PNG, JPEG, GIF and BMP photos only.`,
      { firstBytes: head.subarray(0, 8).toString('hex') },
    );
  }
  const { width, height } =
    format === 'jpeg' ? await jpegDimensions(reader, head, JPEG_SCAN_BYTES) : headerDimensions(format, head);
  const pixels = width * height;
  if (pixels > maxPixels) {
    throw new InspectionError(
      'IMAGE_TOO_LARGE',
      `The photo is ${width} × ${height} pixels (${megapixels(pixels)} megapixels); Zoho CRM accepts photos up to ${megapixels(maxPixels)} megapixels (${maxPixels.toLocaleString('en-US')} pixels). Scale it down.`,
      { width, height, pixels, maxPixels },
    );
  }
  return { format, width, height, contentType: CONTENT_TYPES[format] };
}

function megapixels(pixels: number): string {
  return String(Math.round(pixels / 100_000) / 10);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function sniffFormat(head: Buffer): ImageFormat | undefined {
  if (head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  const ascii = head.subarray(0, 6).toString('latin1');
  if (ascii === 'GIF87a' || ascii === 'GIF89a') return 'gif';
  if (ascii.startsWith('BM') && head.length >= 18) return 'bmp';
  return undefined;
}

/** A better message than "unsupported" for the formats people most often try. */
function describeOtherFormat(head: Buffer): string {
  const text = head.subarray(0, 16).toString('latin1');
  if (text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP') return 'a WebP image';
  if (text.startsWith('II*\0') || text.startsWith('MM\0*')) return 'a TIFF image';
  const brand = text.slice(4, 12);
  if (brand === 'ftypheic' || brand === 'ftypheix' || brand === 'ftypmif1') return 'a HEIC image';
  if (brand === 'ftypavif') return 'an AVIF image';
  if (text.startsWith('%PDF')) return 'a PDF document';
  if (/^\s*(<\?xml|<svg)/i.test(text)) return 'an SVG or XML file';
  if (text.startsWith('\0\0\x01\0')) return 'an ICO icon';
  return `not an image Zoho CRM knows (it starts with bytes ${head.subarray(0, 8).toString('hex')})`;
}

function corrupt(format: ImageFormat, problem: string): InspectionError {
  return new InspectionError(
    'CORRUPT_IMAGE',
    `The photo looks like a ${format.toUpperCase()} but ${problem}.`,
    {
      format,
    },
  );
}

function checkedDimensions(
  format: ImageFormat,
  width: number,
  height: number,
): { width: number; height: number } {
  if (width <= 0 || height <= 0) throw corrupt(format, `its header declares ${width} × ${height} pixels`);
  return { width, height };
}

function headerDimensions(format: 'png' | 'gif' | 'bmp', head: Buffer): { width: number; height: number } {
  switch (format) {
    case 'png': {
      if (head.length < 24 || head.toString('latin1', 12, 16) !== 'IHDR') {
        throw corrupt(format, 'its IHDR header is missing');
      }
      return checkedDimensions(format, head.readUInt32BE(16), head.readUInt32BE(20));
    }
    case 'gif': {
      if (head.length < 10) throw corrupt(format, 'it ends inside its header');
      return checkedDimensions(format, head.readUInt16LE(6), head.readUInt16LE(8));
    }
    case 'bmp': {
      const infoSize = head.readUInt32LE(14);
      if (infoSize === 12) {
        // OS/2 BITMAPCOREHEADER: 16-bit unsigned dimensions.
        if (head.length < 22) throw corrupt(format, 'it ends inside its header');
        return checkedDimensions(format, head.readUInt16LE(18), head.readUInt16LE(20));
      }
      if (infoSize < 40 || head.length < 26) throw corrupt(format, 'its DIB header is missing or unknown');
      // A negative height means the rows are stored top-down.
      return checkedDimensions(format, head.readInt32LE(18), Math.abs(head.readInt32LE(22)));
    }
  }
}

/** Markers that stand alone (no length): TEM, RST0..RST7. */
function isStandaloneMarker(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
}

/** SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Walks the JPEG segments to the frame header. APPn segments (EXIF, ICC, XMP) can be up to 64 KB
 * each and come before it, so a segment that runs past what we hold is skipped by its length and
 * the next marker fetched with a small ranged read.
 */
async function jpegDimensions(
  reader: RangeReader,
  head: Buffer,
  scanBytes: number,
): Promise<{ width: number; height: number }> {
  let windowStart = 0;
  let windowBytes = head;
  const bytesAt = async (pos: number, length: number): Promise<Buffer> => {
    if (pos + length > reader.size) throw corrupt('jpeg', 'it ends before its frame header');
    if (pos < windowStart || pos + length > windowStart + windowBytes.length) {
      windowStart = pos;
      windowBytes = await reader.read(pos, Math.min(reader.size, pos + Math.max(length, JPEG_READ_BYTES)));
    }
    return windowBytes.subarray(pos - windowStart, pos - windowStart + length);
  };

  let pos = 2;
  for (;;) {
    if (pos + 9 > scanBytes) {
      throw new InspectionError(
        'UNSUPPORTED_IMAGE',
        `The JPEG's frame header is not within its first ${formatBytes(scanBytes)}; its metadata is too large. Re-save the photo without embedded metadata.`,
        { format: 'jpeg', scanBytes },
      );
    }
    const markerBytes = await bytesAt(pos, 2);
    if (markerBytes[0] !== 0xff) throw corrupt('jpeg', `byte ${pos} is not a segment marker`);
    const marker = markerBytes[1] ?? 0;
    if (marker === 0xff) {
      pos += 1; // fill byte
      continue;
    }
    if (isStandaloneMarker(marker)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda) {
      throw corrupt('jpeg', 'its image data starts before any frame header');
    }
    const length = (await bytesAt(pos + 2, 2)).readUInt16BE(0);
    if (length < 2) throw corrupt('jpeg', `the segment at byte ${pos} has an invalid length`);
    if (isStartOfFrame(marker)) {
      if (length < 7) throw corrupt('jpeg', 'its frame header is too short');
      const frame = await bytesAt(pos + 4, 5);
      const height = frame.readUInt16BE(1);
      if (height === 0) {
        throw new InspectionError(
          'UNSUPPORTED_IMAGE',
          'The JPEG declares its height only after the image data (DNL marker), so its size cannot be checked. Re-save the photo.',
          { format: 'jpeg' },
        );
      }
      return checkedDimensions('jpeg', frame.readUInt16BE(3), height);
    }
    pos += 2 + length;
  }
}
