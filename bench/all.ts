/**
 * `npm run bench`: every benchmark in turn, each in a process of its own; the flags (`--update`)
 * go to each. Results land in bench/results/, and in BENCHMARKS.md with `--update`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHMARKS = ['run.ts', 'bulk.ts', 'bundle-size.ts', 'throughput.ts', 'faults.ts', 'crash.ts'];

for (const script of BENCHMARKS) {
  const path = fileURLToPath(new URL(`./${script}`, import.meta.url));
  const { status } = spawnSync(process.execPath, [path, ...process.argv.slice(2)], { stdio: 'inherit' });
  if (status !== 0) {
    console.error(`bench/${script} failed (exit ${status})`);
    process.exit(status ?? 1);
  }
}
