/**
 * Bundles each Lambda entry with the stack's own esbuild options (infra/bundling.ts) and writes
 * the sizes to bench/results/ (with --update to BENCHMARKS.md, section "Lambda bundle sizes").
 *
 *   node bench/bundle-size.ts            # writes bench/results/lambda-bundle-sizes.md
 *   node bench/bundle-size.ts --update   # and BENCHMARKS.md
 *   node bench/bundle-size.ts --dry-run  # prints the section only
 */
import { gzipSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { KINDS, type Kind, kindRecord } from '#lib/kinds.ts';
import { BUNDLE_LIMIT_BYTES, bundleEntry } from '../infra/bundling.ts';
import { writeSection } from './common.ts';

const SECTION_TITLE = '## Lambda bundle sizes';
const LIMIT = `${BUNDLE_LIMIT_BYTES.toLocaleString('en-US')} bytes`;

/** The variant measured for comparison: the AWS SDK v3 bundled too, as a pinned SDK would be. */
const BUNDLED_SDK_EXTERNALS: string[] = [];

interface BundleSize {
  kind: Kind;
  codeBytes: number;
  /** The same entry with the AWS SDK bundled instead of taken from the Lambda runtime. */
  bundledSdkCodeBytes: number;
  gzipBytes: number;
  mapBytes: number;
  largestPackages: [name: string, bytes: number][];
}

async function bundle(kind: Kind): Promise<BundleSize> {
  const bundled = await bundleEntry(kind);
  const bundledSdk = await bundleEntry(kind, BUNDLED_SDK_EXTERNALS);
  const code = bundled.outputFiles.find((file) => file.path.endsWith('.mjs'));
  const map = bundled.outputFiles.find((file) => file.path.endsWith('.mjs.map'));
  const bundledSdkCode = bundledSdk.outputFiles.find((file) => file.path.endsWith('.mjs'));
  if (!code || !bundledSdkCode) throw new Error(`esbuild produced no code for ${kind}`);
  return {
    kind,
    codeBytes: code.contents.byteLength,
    bundledSdkCodeBytes: bundledSdkCode.contents.byteLength,
    gzipBytes: gzipSync(code.contents).byteLength,
    mapBytes: map?.contents.byteLength ?? 0,
    largestPackages: largestPackages(bundled.metafile, 6),
  };
}

/** Bytes each package contributes to the output, biggest first (project files count as "(project)"). */
function largestPackages(metafile: Metafile, count: number): [string, number][] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const name = packageName(path);
      totals.set(name, (totals.get(name) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, count);
}

function packageName(path: string): string {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return '(project)';
  const parts = path.slice(at + 'node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}

function section(sizes: BundleSize[], esbuildVersion: string): string {
  const rows = sizes.map((s) => [
    kindRecord(s.kind).folder,
    kb(s.codeBytes),
    kb(s.gzipBytes),
    kb(s.mapBytes),
    s.codeBytes.toLocaleString('en-US'),
    s.codeBytes < BUNDLE_LIMIT_BYTES ? 'yes' : '**no**',
    kb(s.bundledSdkCodeBytes),
  ]);
  const header = [
    'function',
    'minified code',
    'gzipped',
    'source map',
    'code bytes',
    `under ${LIMIT}`,
    'with the AWS SDK bundled too',
  ];
  const packages = sizes.map(
    (s) =>
      `- ${kindRecord(s.kind).folder}: ${s.largestPackages.map(([name, bytes]) => `${name} ${kb(bytes)}`).join(', ')}`,
  );
  return [
    SECTION_TITLE,
    '',
    `Measured by \`node bench/bundle-size.ts\` on ${new Date().toISOString().slice(0, 10)} (esbuild ${esbuildVersion}),`,
    'with the options the CDK stack bundles with (infra/bundling.ts): ESM, minified, names kept, target',
    'node22, source map without sources, AWS SDK v3 taken from the Lambda runtime rather than bundled.',
    '',
    ...markdownTable(header, rows),
    '',
    'Largest contributors to the minified code:',
    '',
    ...packages,
    '',
    'KB here are 1,024 bytes. test/infra/bundle-size.test.ts builds the same bundles and fails when one',
    `passes ${LIMIT}. undici comes from its own modules, not its index (functions/lib/zoho/undici.ts);`,
    'mime-types, and with it mime-db, is replaced by a stand-in (infra/bundling.ts, `BUNDLE_ALIASES`).',
    '',
  ].join('\n');
}

/** A table laid out the way the formatter (biome) lays out markdown tables, so lint stays quiet. */
function markdownTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)];
}

async function main() {
  const { version } = await import('esbuild');
  const sizes: BundleSize[] = [];
  for (const kind of KINDS) sizes.push(await bundle(kind));
  const text = section(sizes, version);
  if (process.argv.includes('--dry-run')) {
    process.stdout.write(text);
    return;
  }
  process.stdout.write(text);
  writeSection(SECTION_TITLE, text);
}

if (import.meta.main) await main();
