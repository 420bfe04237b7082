import { describe, expect, it } from 'vitest';
import { inspectImage } from '#lib/inspect/image.ts';
import { bufferRangeReader } from '#lib/inspect/range-reader.ts';
import {
  bigAppSegment,
  bmp,
  bytesRead,
  gif,
  jpeg,
  png,
  recordingReader,
  refusal,
  unreadableReader,
} from './inspect-fixtures.ts';

describe('inspectImage', () => {
  it.each([
    ['png', png(640, 480), 'image/png'],
    ['gif', gif(320, 200), 'image/gif'],
    ['gif', gif(16, 9, 'GIF87a'), 'image/gif'],
    ['bmp', bmp(800, 600), 'image/bmp'],
    ['jpeg', jpeg(1920, 1080), 'image/jpeg'],
  ] as const)('reads a %s header', async (format, file, contentType) => {
    const facts = await inspectImage(bufferRangeReader(file));
    expect(facts.format).toBe(format);
    expect(facts.contentType).toBe(contentType);
    expect(facts.width * facts.height).toBeGreaterThan(0);
  });

  it('answers the dimensions the header declares', async () => {
    expect(await inspectImage(bufferRangeReader(png(640, 480)))).toEqual({
      format: 'png',
      width: 640,
      height: 480,
      contentType: 'image/png',
    });
    expect(await inspectImage(bufferRangeReader(gif(320, 200)))).toMatchObject({ width: 320, height: 200 });
    expect(await inspectImage(bufferRangeReader(jpeg(1920, 1080)))).toMatchObject({
      width: 1920,
      height: 1080,
    });
  });

  it('reads a top-down BMP (negative height) and an OS/2 BMP', async () => {
    expect(await inspectImage(bufferRangeReader(bmp(800, -600)))).toMatchObject({ width: 800, height: 600 });
    expect(await inspectImage(bufferRangeReader(bmp(100, 50, { core: true })))).toMatchObject({
      width: 100,
      height: 50,
    });
  });

  it('reads a progressive JPEG (SOF2) and does not take DHT (C4) for a frame', async () => {
    expect(await inspectImage(bufferRangeReader(jpeg(1024, 768, { sofMarker: 0xc2 })))).toMatchObject({
      format: 'jpeg',
      width: 1024,
      height: 768,
    });
  });

  it('skips large APP segments before the frame with small ranged reads', async () => {
    const before = [bigAppSegment(1), bigAppSegment(1), bigAppSegment(2), bigAppSegment(13, 40_000)];
    const file = jpeg(4000, 2500, { before, scanBytes: 2_000_000 });
    const reader = recordingReader(bufferRangeReader(file));
    expect(await inspectImage(reader)).toMatchObject({ format: 'jpeg', width: 4000, height: 2500 });
    expect(reader.log.streams).toEqual([]);
    expect(reader.log.reads[0]).toEqual([0, 64 * 1024]);
    // The frame header sits past 236 KB of metadata: one small read per segment that leaves the window.
    const further = reader.log.reads.slice(1);
    expect(further.length).toBeGreaterThan(0);
    expect(further.length).toBeLessThanOrEqual(before.length);
    for (const [start, end] of further) expect(end - start).toBeLessThanOrEqual(16 * 1024);
    expect(bytesRead(reader.log)).toBeLessThan(file.length / 10);
  });

  it('gives up on a JPEG whose frame header is past the scan limit', async () => {
    const before = Array.from({ length: 20 }, () => bigAppSegment(1));
    const error = await refusal(inspectImage(bufferRangeReader(jpeg(100, 100, { before }))));
    expect(error.code).toBe('UNSUPPORTED_IMAGE');
    expect(error.message).toContain('1 MB');
  });

  it('refuses 5000 × 3000 (15 megapixels) and accepts exactly 10,000,000 pixels', async () => {
    const error = await refusal(inspectImage(bufferRangeReader(png(5000, 3000))));
    expect(error.code).toBe('IMAGE_TOO_LARGE');
    expect(error.message).toContain('5000 × 3000');
    expect(error.message).toContain('15 megapixels');
    expect(error.message).toContain('10 megapixels');
    expect(error.details).toMatchObject({ pixels: 15_000_000, maxPixels: 10_000_000 });
    expect(await inspectImage(bufferRangeReader(png(4000, 2500)))).toMatchObject({ width: 4000 });
    expect((await refusal(inspectImage(bufferRangeReader(jpeg(4000, 2501))))).code).toBe('IMAGE_TOO_LARGE');
  });

  it('refuses a photo over 10 MB without reading it', async () => {
    const error = await refusal(inspectImage(unreadableReader(10 * 1024 * 1024 + 1)));
    expect(error.code).toBe('FILE_TOO_LARGE');
    expect(error.message).toContain('10 MB');
  });

  it('refuses an empty photo', async () => {
    expect((await refusal(inspectImage(bufferRangeReader(Buffer.alloc(0))))).code).toBe('EMPTY_FILE');
  });

  it.each([
    ['WebP', Buffer.concat([Buffer.from('RIFF\x10\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(32)])],
    ['TIFF', Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.alloc(32)])],
    ['HEIC', Buffer.concat([Buffer.from('\0\0\0\x18ftypheic', 'latin1'), Buffer.alloc(32)])],
    ['PDF', Buffer.from('%PDF-1.7\n%...', 'latin1')],
    ['bytes', Buffer.from('just some text, not an image')],
  ])('refuses %s by its magic bytes, whatever its name', async (what, file) => {
    const error = await refusal(inspectImage(bufferRangeReader(file)));
    expect(error.code).toBe('UNSUPPORTED_IMAGE');
    expect(error.message).toContain(what);
    expect(error.message).toContain('PNG, JPEG, GIF and BMP');
  });

  it('refuses headers that are cut short or malformed', async () => {
    const truncatedPng = png(10, 10).subarray(0, 20);
    expect((await refusal(inspectImage(bufferRangeReader(truncatedPng)))).code).toBe('CORRUPT_IMAGE');
    expect((await refusal(inspectImage(bufferRangeReader(png(0, 10))))).code).toBe('CORRUPT_IMAGE');
    const noFrame = jpeg(10, 10).subarray(0, 2 + 69 + 34);
    expect((await refusal(inspectImage(bufferRangeReader(noFrame)))).code).toBe('CORRUPT_IMAGE');
    const scanFirst = Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x04, 0, 0, 0xff, 0xd9]);
    expect((await refusal(inspectImage(bufferRangeReader(scanFirst)))).code).toBe('CORRUPT_IMAGE');
    expect((await refusal(inspectImage(bufferRangeReader(Buffer.from('GIF89a\x01', 'latin1'))))).code).toBe(
      'CORRUPT_IMAGE',
    );
  });

  it('refuses a JPEG whose height comes later in a DNL marker', async () => {
    expect((await refusal(inspectImage(bufferRangeReader(jpeg(100, 0))))).code).toBe('UNSUPPORTED_IMAGE');
  });

  it('takes configured limits', async () => {
    expect((await refusal(inspectImage(bufferRangeReader(png(100, 100)), { maxPixels: 9_999 }))).code).toBe(
      'IMAGE_TOO_LARGE',
    );
    expect((await refusal(inspectImage(bufferRangeReader(png(100, 100)), { maxBytes: 64 }))).code).toBe(
      'FILE_TOO_LARGE',
    );
  });
});
