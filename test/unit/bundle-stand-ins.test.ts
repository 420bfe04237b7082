/**
 * The Lambda bundles replace `mime-types` with functions/lib/zoho/mime-types-stand-in.ts
 * (infra/bundling.ts, `LAMBDA_ESBUILD.alias`): the multipart body built by the bundled code is
 * the one Node builds with the real package, byte for byte (the random boundary aside).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookup } from '#zoho/mime-types-stand-in.ts';
import { multipartFileBody } from '#zoho/multipart.ts';
import { LAMBDA_ESBUILD, REPO_ROOT } from '../../infra/bundling.ts';

type BodyFor = typeof multipartFileBody;

let folder: string;
let bundledBodyFor: BodyFor;
let bundledInputs: string[];

beforeAll(async () => {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(REPO_ROOT, 'functions/lib/zoho/multipart.ts')],
    bundle: true,
    write: false,
    absWorkingDir: REPO_ROOT,
    format: LAMBDA_ESBUILD.format,
    platform: LAMBDA_ESBUILD.platform,
    target: LAMBDA_ESBUILD.target,
    mainFields: [...LAMBDA_ESBUILD.mainFields],
    banner: { js: LAMBDA_ESBUILD.banner },
    alias: { ...LAMBDA_ESBUILD.alias },
    metafile: true,
    logLevel: 'error',
  });
  bundledInputs = Object.keys(result.metafile.inputs);
  folder = await mkdtemp(join(tmpdir(), 's3-to-zoho-stand-ins-'));
  const file = join(folder, 'multipart.mjs');
  await writeFile(file, result.outputFiles[0]?.contents ?? new Uint8Array());
  ({ multipartFileBody: bundledBodyFor } = (await import(pathToFileURL(file).href)) as {
    multipartFileBody: BodyFor;
  });
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function bodyText(bodyFor: BodyFor, fileName: string, contentType?: string): Promise<string> {
  const content = Buffer.from('%PDF-1.7 a few bytes\n');
  const file = { body: Readable.from([content]), fileName, size: content.byteLength };
  const body = bodyFor('file', contentType === undefined ? file : { ...file, contentType });
  const chunks: Buffer[] = [];
  for await (const chunk of body.open()) chunks.push(Buffer.from(chunk));
  body.dispose();
  const boundary = /boundary=(.+)$/.exec(body.contentType)?.[1] ?? '';
  return Buffer.concat(chunks).toString('latin1').replaceAll(boundary, 'BOUNDARY');
}

describe('the mime-types stand-in in the Lambda bundles', () => {
  it('leaves mime-types and mime-db out of the bundled multipart code', () => {
    expect(bundledInputs).toContain('node_modules/form-data/lib/form_data.js');
    expect(bundledInputs).toContain('functions/lib/zoho/mime-types-stand-in.ts');
    expect(bundledInputs.filter((input) => /node_modules\/mime-(db|types)\//.test(input))).toEqual([]);
  });

  it.each([
    ['report.pdf', 'application/pdf'],
    ['photo.jpg', undefined],
    ['Résumé 東京.docx', ''],
  ])('builds the same body for %s (type %s) as the real mime-types', async (name, type) => {
    const bundled = await bodyText(bundledBodyFor, name, type);
    expect(bundled).toBe(await bodyText(multipartFileBody, name, type));
    expect(bundled).toContain(`Content-Type: ${type || 'application/octet-stream'}\r\n`);
  });

  it('answers as mime-types does for a name it does not know', () => {
    expect(lookup('photo.jpg')).toBe(false);
  });
});
