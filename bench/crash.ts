/**
 * `npm run bench:crash`: 300 attachments put while `npm start` is killed with SIGKILL 3 times at
 * random moments and started again on the same `.local` folder, nothing done by hand; Zoho (the
 * sandbox) in a process of its own. The goal: every file on its record exactly once, every object
 * tagged `done` with the id of that attachment, within 2 × the function timeout of the last
 * restart. The function timeout is 20 s here (FUNCTION_TIMEOUT_SECONDS; the stack's are minutes),
 * so the messages a kill leaves in flight come back within a bench's time.
 *
 * BENCH_OUTPUT names a file for what each `npm start` prints. Prints a markdown table and writes it to bench/results/crash-run.md; with `--update` it also
 * replaces the "Crash run" section of BENCHMARKS.md.
 */
import { machine, writeSection } from './common.ts';
import { type CrashResult, runCrash } from './crash-run.ts';

const FILES = Number(process.env.BENCH_FILES ?? 300);
const KILLS = Number(process.env.BENCH_KILLS ?? 3);
const FUNCTION_TIMEOUT_SECONDS = Number(process.env.BENCH_FUNCTION_TIMEOUT_SECONDS ?? 20);
const FILE_BYTES = 10 * 1024;

const started = Date.now();
const result: CrashResult = await runCrash({
  files: FILES,
  fileBytes: FILE_BYTES,
  kills: KILLS,
  functionTimeoutSeconds: FUNCTION_TIMEOUT_SECONDS,
  maxKillDelayMs: 4_000,
  outputFile: process.env.BENCH_OUTPUT,
  log: (line) => console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`),
});

const seconds = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);
const met =
  result.lost.length + result.duplicated.length + result.notFinal.length + result.wrongId.length === 0 &&
  result.settleMs !== undefined &&
  result.settleMs <= result.goalMs;
const section = [
  `Command: \`npm run bench:crash\` (${FILES} files of ${FILE_BYTES / 1024} KB, ${KILLS} kills; \`BENCH_FILES\`, \`BENCH_KILLS\` and \`BENCH_FUNCTION_TIMEOUT_SECONDS\` change them). ${machine()}.`,
  '',
  '| files | SIGKILLs | lost | duplicated | not `done` | `zoho-id` of another attachment | settled after the last restart | goal (2 × function timeout) | restarts took |',
  '|---|---|---|---|---|---|---|---|---|',
  `| ${result.files} | ${result.kills} | ${result.lost.length} | ${result.duplicated.length} | ${result.notFinal.length} | ${result.wrongId.length} | ${seconds(result.settleMs)} | ${seconds(result.goalMs)} (${met ? 'met' : 'not met'}) | ${result.restartMs.map(seconds).join(', ')} |`,
  '',
  '`npm start` (scripts/start.ts) runs in a child process on a `.local` folder of its own, Zoho (the',
  'sandbox) in another; the files are PUT from this one, 4 at a time, a PUT refused while the run is',
  'down tried again. Each kill comes at a random moment up to 4 s after the run is ready again.',
  'Settled: the last object tagged `done`, counted from the moment the last restart was ready (its',
  'banner printed) or the last PUT was answered, whichever came later. Lost: no attachment on the',
  'record holds the bytes; duplicated: more than one does.',
].join('\n');
console.log(`\n${section}\n`);
for (const [name, keys] of Object.entries({
  lost: result.lost,
  duplicated: result.duplicated,
  'not done': result.notFinal,
  'wrong id': result.wrongId,
})) {
  if (keys.length > 0) console.log(`${name}: ${keys.join(', ')}`);
}
writeSection('## Crash run', `## Crash run\n\n${section}`);
process.exit(met ? 0 : 1);
