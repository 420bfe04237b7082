/**
 * How each Lambda entry is bundled, in one place: the CDK stack hands these to NodejsFunction
 * (which runs the local esbuild, never Docker); bundleEntry hands the same ones to esbuild directly,
 * for the size test (test/infra/bundle-size.test.ts) and bench/bundle-size.ts.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Kind, kindRecord } from '#lib/kinds.ts';

/** The repository root: entries, package-lock.json and tsconfig.json live here. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A kind's entry: `functions/<its folder>/index.ts`. */
export function defaultEntry(kind: Kind): string {
  return fileURLToPath(new URL(`../functions/${kindRecord(kind).folder}/index.ts`, import.meta.url));
}

/**
 * The entries are ESM (top-level await builds the dependencies once per container), but some
 * dependencies are CommonJS and call `require` for Node built-ins: give the module one.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __s3ToZohoCreateRequire } from 'node:module';" +
  ' const require = __s3ToZohoCreateRequire(import.meta.url);';

/**
 * The AWS SDK v3 comes from the Lambda runtime (CDK's own default for Node runtimes), not the
 * bundle: it keeps each function small (see BENCHMARKS.md, "Lambda bundle sizes") and picks
 * up the runtime's SDK fixes without a redeploy. The price: the SDK that runs is the runtime's, not
 * the one in package-lock.json; the code uses nothing newer than the SDK the Lambda runtime ships.
 */
const EXTERNAL_MODULES: string[] = ['@aws-sdk/*', '@smithy/*'];

/**
 * Packages replaced in the bundles by a module of ours (paths from the repository root):
 * `mime-types`, which form-data requires only to guess a part's type, and with it mime-db's 134 KB
 * (functions/lib/zoho/mime-types-stand-in.ts says why it is never asked).
 */
const BUNDLE_ALIASES: Record<string, string> = {
  'mime-types': './functions/lib/zoho/mime-types-stand-in.ts',
};

export const LAMBDA_ESBUILD = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  /** Error classes name themselves with `new.target.name`: minifying must not rename them. */
  keepNames: true,
  sourcemap: true,
  /** The map points at file:line; the sources themselves are in the repository, not the zip. */
  sourcesContent: false,
  mainFields: ['module', 'main'],
  banner: ESM_REQUIRE_BANNER,
  external: EXTERNAL_MODULES,
  alias: BUNDLE_ALIASES,
} as const;

/** The aliases as NodejsFunction takes them: `esbuildArgs` (it has no `alias` option of its own). */
export const LAMBDA_ESBUILD_ARGS = {
  '--alias': Object.entries(BUNDLE_ALIASES).map(([name, path]) => `${name}=${path}`),
};

/** Every bundle's minified code stays under 800,000 bytes (the test fails beyond). */
export const BUNDLE_LIMIT_BYTES = 800_000;

/**
 * Bundles a kind's entry in memory, as NodejsFunction does with LAMBDA_ESBUILD (`external`: what
 * stays out of the bundle, by default the AWS SDK). The output holds `index.mjs` and its map.
 */
export async function bundleEntry(kind: Kind, external: readonly string[] = LAMBDA_ESBUILD.external) {
  const { build } = await import('esbuild');
  return build({
    entryPoints: [defaultEntry(kind)],
    bundle: true,
    write: false,
    outfile: join(REPO_ROOT, 'cdk.out', 'bundle-size', kindRecord(kind).folder, 'index.mjs'),
    absWorkingDir: REPO_ROOT,
    format: LAMBDA_ESBUILD.format,
    platform: LAMBDA_ESBUILD.platform,
    target: LAMBDA_ESBUILD.target,
    minify: LAMBDA_ESBUILD.minify,
    keepNames: LAMBDA_ESBUILD.keepNames,
    sourcemap: LAMBDA_ESBUILD.sourcemap,
    sourcesContent: LAMBDA_ESBUILD.sourcesContent,
    mainFields: [...LAMBDA_ESBUILD.mainFields],
    banner: { js: LAMBDA_ESBUILD.banner },
    external: [...external],
    alias: { ...LAMBDA_ESBUILD.alias },
    metafile: true,
    logLevel: 'error',
  });
}
