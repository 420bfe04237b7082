/**
 * Each Lambda bundle, built as the stack builds it (infra/bundling.ts: NodejsFunction's options,
 * the local esbuild), stays under 1 MB: 1,000,000 bytes of minified code.
 */
import { describe, expect, it } from 'vitest';
import { BUNDLE_LIMIT_BYTES, bundleEntry } from '../../infra/bundling.ts';
import { KINDS } from '../../infra/concurrency.ts';

async function codeBytes(...args: Parameters<typeof bundleEntry>): Promise<number> {
  const result = await bundleEntry(...args);
  const code = result.outputFiles.find((file) => file.path.endsWith('index.mjs'));
  if (!code) throw new Error(`esbuild produced no index.mjs for ${args[0]}`);
  return code.contents.byteLength;
}

describe('Lambda bundle size', () => {
  it.each(KINDS)('the %s bundle is under 1,000,000 bytes', async (kind) => {
    const bytes = await codeBytes(kind);
    // A real bundle: our code and its dependencies, not an entry that imports them at run time.
    expect(bytes).toBeGreaterThan(100_000);
    expect(bytes).toBeLessThan(BUNDLE_LIMIT_BYTES);
  });

  it('sees a bundle over the limit: with the AWS SDK bundled too, it is', async () => {
    expect(await codeBytes('attachment', [])).toBeGreaterThan(BUNDLE_LIMIT_BYTES);
  });
});
