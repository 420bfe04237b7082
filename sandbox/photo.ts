/**
 * Record photos (zoho-api.md, Photo; seed 004): PNG, JPEG, GIF or BMP by magic bytes, at most
 * 10 MB and 10 megapixels, refused on a locked record; a new photo replaces the old one.
 */
import { imageSize } from 'image-size';
import { zohoTime } from './clock.ts';
import { type RequestContext, type Route, receiveForm, type SandboxParts } from './context.ts';
import {
  invalidData,
  invalidModule,
  json,
  noContent,
  type Reply,
  requiredParamMissing,
  ZohoFailure,
} from './http.ts';

/** Zoho: a photo is at most 10 MB. */
export const PHOTO_MAX_BYTES = 10 * 1024 * 1024;
/** Zoho: a photo is at most 10 megapixels. */
export const PHOTO_MAX_PIXELS = 10_000_000;

type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp';

const CONTENT_TYPES: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  bmp: 'image/bmp',
};

interface StoredPhoto {
  data: Buffer;
  fileName: string;
  format: ImageFormat;
  width: number;
  height: number;
  sha256: string;
  restrictTriggers: string | undefined;
  uploadedAt: number;
}

function formatOf(data: Buffer): ImageFormat | undefined {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'jpeg';
  const head = data.subarray(0, 6).toString('latin1');
  if (head === 'GIF87a' || head === 'GIF89a') return 'gif';
  if (head.startsWith('BM')) return 'bmp';
  return undefined;
}

const tooLarge = (details: Record<string, unknown> = {}) =>
  // Seed 004: over 10 MB *or* over 10 MP is FILE_SIZE_MORE_THAN_ALLOWED_SIZE, HTTP 415.
  new ZohoFailure(
    415,
    'FILE_SIZE_MORE_THAN_ALLOWED_SIZE',
    'please check if the file size is in the correct range',
    details,
  );

export function photoRoutes(parts: SandboxParts) {
  const { crm, clock } = parts;
  const photos = new Map<string, StoredPhoto>();

  const target = (params: Record<string, string>) => {
    const module = crm.requireModule(params.module ?? '');
    // Seed 004 lists the photo modules; Notes and Tasks are not among them.
    if (!module.photo) throw invalidModule('The given module is not supported in API');
    const record = crm.requireRecord(module, params.id ?? '');
    return { module, record, key: `${module.apiName}/${record.id}` };
  };

  async function upload(ctx: RequestContext): Promise<Reply> {
    const { record, key } = target(ctx.params);
    const restrictTriggers = ctx.query.get('restrict_triggers') ?? undefined;
    const form = await receiveForm(ctx, parts, { maxBytes: PHOTO_MAX_BYTES, mode: 'memory' });
    if (restrictTriggers !== undefined && restrictTriggers !== 'workflow') {
      throw invalidData('invalid data', { param_name: 'restrict_triggers' });
    }
    const { file } = form;
    if (!file?.data) throw requiredParamMissing('file');
    if (file.overLimit) throw tooLarge();
    const format = formatOf(file.data);
    // ⚠ Zoho documents no code for a non-image; INVALID_DATA (400) is the documented one that fits.
    if (!format) throw invalidData('the file is not a PNG, JPEG, GIF or BMP image', { param_name: 'file' });
    let size: { width: number; height: number };
    try {
      size = imageSize(file.data);
    } catch {
      throw invalidData('the image header cannot be read', { param_name: 'file' });
    }
    if (size.width * size.height > PHOTO_MAX_PIXELS)
      throw tooLarge({ width: size.width, height: size.height });
    if (record.locked)
      throw new ZohoFailure(400, 'RECORD_LOCKED', 'the record is locked and cannot be updated', {
        id: record.id,
      });
    photos.set(key, {
      data: file.data,
      fileName: file.fileName,
      format,
      width: size.width,
      height: size.height,
      sha256: file.sha256,
      restrictTriggers,
      uploadedAt: clock.now(),
    });
    ctx.stored = true;
    return json(200, {
      code: 'SUCCESS',
      details: {},
      message: 'photo uploaded successfully',
      status: 'success',
    });
  }

  const routes: Route[] = [
    {
      host: 'api',
      pattern: /^\/crm\/(?<v>v[2-8](?:\.\d)?)\/(?<module>[^/]+)\/(?<id>[^/]+)\/photo$/,
      methods: {
        POST: upload,
        async GET(ctx) {
          const photo = photos.get(target(ctx.params).key);
          if (!photo) return noContent();
          return { status: 200, raw: photo.data, headers: { 'Content-Type': CONTENT_TYPES[photo.format] } };
        },
        async DELETE(ctx) {
          photos.delete(target(ctx.params).key);
          return json(200, { code: 'SUCCESS', details: {}, message: 'photo deleted', status: 'success' });
        },
      },
    },
  ];

  return {
    routes,
    /** The state a restart keeps (persist.ts). */
    maps: { photos },
    snapshot: () =>
      Object.fromEntries(
        [...photos.entries()].map(([key, p]) => [
          key,
          {
            size: p.data.length,
            sha256: p.sha256,
            fileName: p.fileName,
            format: p.format,
            width: p.width,
            height: p.height,
            restrictTriggers: p.restrictTriggers ?? null,
            uploadedTime: zohoTime(p.uploadedAt),
          },
        ]),
      ),
  };
}
