/**
 * Reads a ZIP through ranged reads: the central directory from the end of the file (ZIP64 too),
 * then one entry at a time as a stream, inflated and checked against its CRC-32 and size.
 */
import { pipeline, Readable } from 'node:stream';
import { crc32, createInflateRaw } from 'node:zlib';
import { formatOverLimit, InspectionError } from './errors.ts';
import { BULK_ZIP_MAX_BYTES } from './limits.ts';
import type { RangeReader } from './range-reader.ts';

export interface ZipEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** 0 stored, 8 deflated (the only two accepted). */
  method: number;
  /** Where the entry's local header starts. */
  offset: number;
  crc32: number;
  isDirectory: boolean;
}

export interface ZipLimits {
  /** Default 25 MB (Zoho bulk write). */
  maxBytes?: number | undefined;
  /** Default 1000. */
  maxEntries?: number | undefined;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
const ZIP64_EXTRA_ID = 0x0001;
// The EOCD record is 22 bytes followed by a comment of at most 65,535 bytes.
const MAX_TAIL = EOCD_SIZE + 0xffff;

const FLAG_ENCRYPTED = 0x0001;
const FLAG_STRONG_ENCRYPTION = 0x0040;
const FLAG_UTF8 = 0x0800;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

function corruptZip(problem: string, details: Record<string, unknown> = {}): InspectionError {
  return new InspectionError(
    'CORRUPT_ZIP',
    `The ZIP is damaged: ${problem}. Re-create it and upload it again.`,
    details,
  );
}

function readUInt64(buf: Buffer, pos: number): number {
  const value = buf.readBigUInt64LE(pos);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw corruptZip('a 64-bit size or offset is out of range');
  return Number(value);
}

export async function listZipEntries(reader: RangeReader, limits: ZipLimits = {}): Promise<ZipEntry[]> {
  const maxBytes = limits.maxBytes ?? BULK_ZIP_MAX_BYTES;
  const maxEntries = limits.maxEntries ?? 1000;
  const { size } = reader;
  if (size === 0) throw new InspectionError('EMPTY_FILE', 'The ZIP is empty (0 bytes).', { size });
  if (size > maxBytes) {
    const text = formatOverLimit(size, maxBytes);
    throw new InspectionError(
      'ZIP_TOO_LARGE',
      `The ZIP is ${text.size}; Zoho CRM bulk write accepts ZIPs up to ${text.limit}. Split the data over several ZIPs.`,
      { size, maxBytes },
    );
  }
  const notAZip = (why: string) =>
    new InspectionError('NOT_A_ZIP', `The file is not a ZIP archive: ${why}.`, { size });
  if (size < EOCD_SIZE) throw notAZip('it is too short');

  const tailStart = Math.max(0, size - MAX_TAIL);
  const tail = await reader.read(tailStart, size);
  const bytesAt = (pos: number, length: number): Promise<Buffer> =>
    pos >= tailStart
      ? Promise.resolve(tail.subarray(pos - tailStart, pos - tailStart + length))
      : reader.read(pos, pos + length);

  const eocdAt = findEndOfCentralDirectory(tail);
  if (eocdAt === undefined) throw notAZip('it has no end-of-central-directory record');
  const first = await bytesAt(0, 4);
  const firstSignature = first.readUInt32LE(0);
  if (firstSignature !== LOCAL_HEADER_SIGNATURE && !(firstSignature === EOCD_SIGNATURE && eocdAt === 0)) {
    throw notAZip(
      'it does not start with a ZIP header (self-extracting or prefixed archives are not accepted)',
    );
  }
  const eocdOffset = tailStart + eocdAt;
  const eocd = tail.subarray(eocdAt, eocdAt + EOCD_SIZE);
  if (eocd.readUInt16LE(4) !== 0 || eocd.readUInt16LE(6) !== 0) {
    throw new InspectionError(
      'UNSUPPORTED_ZIP',
      'The ZIP is split over several files (a spanned archive); upload a single-file ZIP.',
    );
  }
  let entryCount = eocd.readUInt16LE(10);
  let directorySize = eocd.readUInt32LE(12);
  let directoryOffset = eocd.readUInt32LE(16);
  let directoryEnd = eocdOffset;

  const locator =
    eocdOffset >= ZIP64_LOCATOR_SIZE
      ? await bytesAt(eocdOffset - ZIP64_LOCATOR_SIZE, ZIP64_LOCATOR_SIZE)
      : undefined;
  if (locator !== undefined && locator.readUInt32LE(0) === ZIP64_LOCATOR_SIGNATURE) {
    const recordOffset = readUInt64(locator, 8);
    if (recordOffset + ZIP64_EOCD_SIZE > eocdOffset - ZIP64_LOCATOR_SIZE)
      throw corruptZip('its ZIP64 locator points outside the file');
    const record = await bytesAt(recordOffset, ZIP64_EOCD_SIZE);
    if (record.readUInt32LE(0) !== ZIP64_EOCD_SIGNATURE)
      throw corruptZip('its ZIP64 end-of-central-directory record is missing');
    if (record.readUInt32LE(16) !== 0 || record.readUInt32LE(20) !== 0) {
      throw new InspectionError(
        'UNSUPPORTED_ZIP',
        'The ZIP is split over several files (a spanned archive); upload a single-file ZIP.',
      );
    }
    entryCount = readUInt64(record, 32);
    directorySize = readUInt64(record, 40);
    directoryOffset = readUInt64(record, 48);
    directoryEnd = recordOffset;
  } else if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    throw corruptZip('it needs ZIP64 records but has none');
  }

  if (entryCount > maxEntries) {
    throw new InspectionError(
      'ZIP_TOO_MANY_ENTRIES',
      `The ZIP holds ${entryCount} entries; at most ${maxEntries} are accepted.`,
      { entryCount, maxEntries },
    );
  }
  if (directoryOffset + directorySize > directoryEnd)
    throw corruptZip('its central directory lies outside the file');
  if (directorySize < entryCount * CENTRAL_HEADER_SIZE)
    throw corruptZip('its central directory is too short');
  const directory = await bytesAt(directoryOffset, directorySize);
  return parseCentralDirectory(directory, entryCount, directoryOffset);
}

/** The last EOCD signature whose comment length reaches exactly the end of the file. */
function findEndOfCentralDirectory(tail: Buffer): number | undefined {
  for (let at = tail.length - EOCD_SIZE; at >= 0; at -= 1) {
    if (
      tail.readUInt32LE(at) === EOCD_SIGNATURE &&
      at + EOCD_SIZE + tail.readUInt16LE(at + 20) === tail.length
    ) {
      return at;
    }
  }
  return undefined;
}

function parseCentralDirectory(directory: Buffer, entryCount: number, dataEnd: number): ZipEntry[] {
  const entries: ZipEntry[] = [];
  let pos = 0;
  for (let index = 0; index < entryCount; index += 1) {
    if (
      pos + CENTRAL_HEADER_SIZE > directory.length ||
      directory.readUInt32LE(pos) !== CENTRAL_HEADER_SIGNATURE
    ) {
      throw corruptZip(`central directory entry ${index + 1} is malformed`);
    }
    const flags = directory.readUInt16LE(pos + 8);
    const method = directory.readUInt16LE(pos + 10);
    const crc = directory.readUInt32LE(pos + 16);
    let compressedSize = directory.readUInt32LE(pos + 20);
    let uncompressedSize = directory.readUInt32LE(pos + 24);
    const nameLength = directory.readUInt16LE(pos + 28);
    const extraLength = directory.readUInt16LE(pos + 30);
    const commentLength = directory.readUInt16LE(pos + 32);
    let offset = directory.readUInt32LE(pos + 42);
    const nameStart = pos + CENTRAL_HEADER_SIZE;
    const extraStart = nameStart + nameLength;
    const next = extraStart + extraLength + commentLength;
    if (next > directory.length) throw corruptZip(`central directory entry ${index + 1} runs past its end`);
    const nameBytes = directory.subarray(nameStart, extraStart);
    const name = (flags & FLAG_UTF8) !== 0 ? nameBytes.toString('utf8') : decodeCp437(nameBytes);

    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || offset === 0xffffffff) {
      const zip64 = findExtraField(directory.subarray(extraStart, extraStart + extraLength), ZIP64_EXTRA_ID);
      if (zip64 === undefined) throw corruptZip(`"${name}" needs a ZIP64 extra field but has none`);
      // Only the fields saturated in the fixed header are present, in this order.
      let at = 0;
      const take = (): number => {
        if (at + 8 > zip64.length) throw corruptZip(`"${name}" has a short ZIP64 extra field`);
        const value = readUInt64(zip64, at);
        at += 8;
        return value;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = take();
      if (compressedSize === 0xffffffff) compressedSize = take();
      if (offset === 0xffffffff) offset = take();
    }

    checkEntryName(name);
    if ((flags & (FLAG_ENCRYPTED | FLAG_STRONG_ENCRYPTION)) !== 0) {
      throw new InspectionError(
        'ZIP_ENCRYPTED',
        `"${name}" in the ZIP is password-protected; Zoho CRM cannot read encrypted entries. Zip it again without a password.`,
        { entry: name },
      );
    }
    if (method !== METHOD_STORED && method !== METHOD_DEFLATED) {
      throw new InspectionError(
        'UNSUPPORTED_ZIP',
        `"${name}" in the ZIP uses compression method ${method}; only "stored" and "deflate" are accepted. Zip it again with standard settings.`,
        { entry: name, method },
      );
    }
    if (offset + LOCAL_HEADER_SIZE + compressedSize > dataEnd) {
      throw corruptZip(`"${name}" lies outside the file`, { entry: name });
    }
    entries.push({
      name,
      compressedSize,
      uncompressedSize,
      method,
      offset,
      crc32: crc,
      isDirectory: name.endsWith('/'),
    });
    pos = next;
  }
  return entries;
}

function findExtraField(extra: Buffer, id: number): Buffer | undefined {
  let pos = 0;
  while (pos + 4 <= extra.length) {
    const fieldId = extra.readUInt16LE(pos);
    const length = extra.readUInt16LE(pos + 2);
    if (fieldId === id) return extra.subarray(pos + 4, Math.min(extra.length, pos + 4 + length));
    pos += 4 + length;
  }
  return undefined;
}

/** Entries that would escape the folder they are extracted to ("zip slip") are refused. */
function checkEntryName(name: string): void {
  const unsafe =
    name === '' ||
    name.includes('\0') ||
    name.startsWith('/') ||
    name.startsWith('\\') ||
    /^[A-Za-z]:/.test(name) ||
    name.split(/[\\/]/).includes('..');
  if (unsafe) {
    throw new InspectionError(
      'ZIP_UNSAFE_ENTRY_NAME',
      `The ZIP holds an entry named "${name}", which is empty, absolute or climbs out of its folder with "..". Use plain relative names.`,
      { entry: name },
    );
  }
}

// Code page 437, the ZIP default when the UTF-8 flag is not set, for bytes 0x80..0xFF.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeCp437(bytes: Buffer): string {
  let text = '';
  for (const byte of bytes) text += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return text;
}

/**
 * The entry's bytes as a stream, decompressed. Reads the local header for where the data starts,
 * then streams just that range. The stream fails with CORRUPT_ZIP if the data does not inflate,
 * inflates past its declared size (a ZIP bomb) or does not match its CRC-32.
 */
export async function openEntry(reader: RangeReader, entry: ZipEntry): Promise<Readable> {
  if (entry.offset + LOCAL_HEADER_SIZE > reader.size)
    throw corruptZip(`"${entry.name}" lies outside the file`);
  const local = await reader.read(entry.offset, entry.offset + LOCAL_HEADER_SIZE);
  if (local.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) {
    throw corruptZip(`the local header of "${entry.name}" is missing`, { entry: entry.name });
  }
  const dataStart = entry.offset + LOCAL_HEADER_SIZE + local.readUInt16LE(26) + local.readUInt16LE(28);
  const dataEnd = dataStart + entry.compressedSize;
  if (dataEnd > reader.size)
    throw corruptZip(`the data of "${entry.name}" runs past the end of the file`, { entry: entry.name });
  const raw = await reader.stream(dataStart, dataEnd);
  const data = entry.method === METHOD_DEFLATED ? pipeline(raw, createInflateRaw(), () => {}) : raw;
  return Readable.from(verified(data, entry), { objectMode: false });
}

async function* verified(data: Readable, entry: ZipEntry): AsyncGenerator<Buffer> {
  let length = 0;
  let crc = 0;
  try {
    for await (const chunk of data as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > entry.uncompressedSize) {
        throw corruptZip(`"${entry.name}" inflates past its declared ${entry.uncompressedSize} bytes`, {
          entry: entry.name,
        });
      }
      crc = crc32(chunk, crc);
      yield chunk;
    }
  } catch (error) {
    if (isZlibError(error)) {
      throw new InspectionError(
        'CORRUPT_ZIP',
        `The ZIP is damaged: "${entry.name}" does not decompress (${error.message}). Re-create it and upload it again.`,
        { entry: entry.name },
        error,
      );
    }
    throw error;
  }
  if (length !== entry.uncompressedSize) {
    throw corruptZip(`"${entry.name}" holds ${length} bytes, not the ${entry.uncompressedSize} it declares`, {
      entry: entry.name,
    });
  }
  if (crc !== entry.crc32) throw corruptZip(`"${entry.name}" fails its CRC-32 check`, { entry: entry.name });
}

function isZlibError(error: unknown): error is Error {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}
