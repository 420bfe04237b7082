/**
 * Each Lambda bundle, built as the stack builds it (infra/bundling.ts: NodejsFunction's options,
 * the local esbuild), stays under 800,000 bytes of minified code, and holds nothing of Zoho's SDK
 * (`@zohocrm/…`, a devDependency for the conformance tests only) nor of the sandbox.
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
  it.each(KINDS)('the %s bundle is under 800,000 bytes and holds no @zohocrm module', async (kind) => {
    const { code, inputs } = await bundled(kind);
    // A real bundle: our code and its dependencies, not an entry that imports them at run time.
    expect(code.byteLength).toBeGreaterThan(100_000);
    expect(code.byteLength).toBeLessThan(BUNDLE_LIMIT_BYTES);
    // The metafile lists every module bundled (node_modules ones too): none is Zoho's SDK, and
    // the code does not import it at run time either.
    expect(inputs.some((input) => input.startsWith('node_modules/'))).toBe(true);
    expect(inputs.filter((input) => input.includes('@zohocrm'))).toEqual([]);
    expect(Buffer.from(code).includes('@zohocrm')).toBe(false);
    expect(inputs.filter((input) => input.startsWith('sandbox/'))).toEqual([]);
  });

  it.each(KINDS)('the %s bundle takes undici from its modules, and no mime-db', async (kind) => {
    const { inputs } = await bundled(kind);
    // Not undici's index (all of undici): the modules functions/lib/zoho/undici.ts names.
    expect(inputs).not.toContain('node_modules/undici/index.js');
    expect(inputs).toContain('node_modules/undici/lib/dispatcher/agent.js');
    // form-data is there; mime-types is the stand-in (infra/bundling.ts BUNDLE_ALIASES).
    expect(inputs).toContain('node_modules/form-data/lib/form_data.js');
    expect(inputs).toContain('functions/lib/zoho/mime-types-stand-in.ts');
    expect(inputs.filter((input) => /node_modules\/mime-(db|types)\//.test(input))).toEqual([]);
  });

  it('sees a bundle over the limit: with the AWS SDK bundled too, it is', async () => {
    expect(await codeBytes('attachment', [])).toBeGreaterThan(BUNDLE_LIMIT_BYTES);
  });
});
