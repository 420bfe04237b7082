/**
 * Each Lambda bundle, built as the stack builds it (infra/bundling.ts: NodejsFunction's options,
 * the local esbuild), stays under 1 MB: 1,000,000 bytes of minified code, and holds nothing of
 * Zoho's SDK (`@zohocrm/…`, a devDependency for the conformance tests only).
 */
import { describe, expect, it } from 'vitest';
import { KINDS } from '#lib/kinds.ts';
import { BUNDLE_LIMIT_BYTES, bundleEntry } from '../../infra/bundling.ts';

async function bundled(...args: Parameters<typeof bundleEntry>) {
  const result = await bundleEntry(...args);
  const code = result.outputFiles.find((file) => file.path.endsWith('index.mjs'));
  if (!code) throw new Error(`esbuild produced no index.mjs for ${args[0]}`);
  return { code: code.contents, inputs: Object.keys(result.metafile.inputs) };
}

async function codeBytes(...args: Parameters<typeof bundleEntry>): Promise<number> {
  return (await bundled(...args)).code.byteLength;
}

describe('Lambda bundle size', () => {
  it.each(KINDS)('the %s bundle is under 1,000,000 bytes and holds no @zohocrm module', async (kind) => {
    const { code, inputs } = await bundled(kind);
    // A real bundle: our code and its dependencies, not an entry that imports them at run time.
    expect(code.byteLength).toBeGreaterThan(100_000);
    expect(code.byteLength).toBeLessThan(BUNDLE_LIMIT_BYTES);
    // The metafile lists every module bundled (node_modules ones too): none is Zoho's SDK, and
    // the code does not import it at run time either.
    expect(inputs.some((input) => input.startsWith('node_modules/'))).toBe(true);
    expect(inputs.filter((input) => input.includes('@zohocrm'))).toEqual([]);
    expect(Buffer.from(code).includes('@zohocrm')).toBe(false);
  });

  it('sees a bundle over the limit: with the AWS SDK bundled too, it is', async () => {
    expect(await codeBytes('attachment', [])).toBeGreaterThan(BUNDLE_LIMIT_BYTES);
  });
});
