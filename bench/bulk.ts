/**
 * `npm run bench:bulk` (also run by `npm run bench`): one bulk import of 1,000,000 rows through
 * the real bulk-write handler, dropped as a ZIP and as a bare CSV, with the sandbox answering
 * every call at once and then after 200 ms, side by side in one run. Each import runs in a fresh
 * process (bench/bulk-process.ts); the sandbox, S3 and DynamoDB run in another
 * (bench/bulk-infra.ts). Checked: every row landed exactly once (one record per unique email).
 * Goals: the ZIP's wall time at 200 ms ≤ 1.3 × at 0 ms; the bare CSV's ≤ 1.3 × the ZIP's at the
 * same latency; peak RSS of the bulk process ≤ 128 MiB above idle in every run. Writes its
 * section of BENCHMARKS.md.
 */
import { readOutcome } from '#lib/pipeline/outcome-tags.ts';
import type { OAuthCredentials } from '#zoho/types.ts';
import type { BulkFormat } from './bulk-infra.ts';
import type { BulkJob, BulkResult } from './bulk-process.ts';
import { child, machine, nextMessage, writeSection } from './common.ts';

const ROWS = Number(process.env.BENCH_BULK_ROWS ?? 1_000_000);
const RUNS: Array<{ format: BulkFormat; latency: number }> = [
  { format: 'zip', latency: 0 },
  { format: 'csv', latency: 0 },
  { format: 'zip', latency: 200 },
  { format: 'csv', latency: 200 },
];
const RATIO_GOAL = 1.3;
const RSS_GOAL_MIB = 128;
const SECTION = '## Bulk import';
const MiB = 1024 * 1024;

type Run = BulkResult & {
  format: BulkFormat;
  latency: number;
  size: number;
  landed: { total: number; distinct: number };
};

async function main() {
  const started = performance.now();
  const infra = child(new URL('./bulk-infra.ts', import.meta.url));
  const ready = await nextMessage<{ env: Record<string, string>; credentials: OAuthCredentials }>(
    infra,
    'ready',
  );
  const results: Run[] = [];
  try {
    for (const { format, latency } of RUNS) {
      const tag = `bench-${format}-${latency}`;
      const key = `bulk-write/Leads/insert/${tag}.${format}`;
      infra.send({ type: 'put', key, rows: ROWS, tag, format });
      const { size } = await nextMessage<{ size: number }>(infra, 'put');
      infra.send({ type: 'latency', ms: latency });
      await nextMessage(infra, 'latency');
      const bulk = child(new URL('./bulk-process.ts', import.meta.url));
      await nextMessage(bulk, 'ready');
      const job: BulkJob = { env: ready.env, credentials: ready.credentials, bucket: 'bench', key, size };
      bulk.send(job);
      const { result } = await nextMessage<{ result: BulkResult }>(bulk, 'result');
      infra.send({ type: 'count', tag });
      const landed = await nextMessage<{ total: number; distinct: number }>(infra, 'count');
      results.push({ ...result, format, latency, size, landed });
      console.error(
        `${format} at ${latency} ms: ${result.seconds.toFixed(1)} s, +${((result.peakRssBytes - result.idleRssBytes) / MiB).toFixed(1)} MiB RSS, ${landed.total} records (${landed.distinct} distinct), tags ${JSON.stringify(result.tags)}`,
      );
    }
  } finally {
    infra.send({ type: 'close' });
  }
  report(results, started);
}

function report(results: Run[], started: number) {
  const find = (format: BulkFormat, latency: number) => {
    const run = results.find((r) => r.format === format && r.latency === latency);
    if (!run) throw new Error(`the ${format} run at ${latency} ms is missing`);
    return run;
  };
  const above = (r: BulkResult) => (r.peakRssBytes - r.idleRssBytes) / MiB;
  const once = (r: Run) =>
    r.landed.total === ROWS && r.landed.distinct === ROWS && readOutcome(r.tags).added === ROWS;
  const outcome = (r: BulkResult) => {
    const { status, added, failed } = readOutcome(r.tags);
    return `${status}, ${added} added, ${failed} failed`;
  };
  const table = [
    '| file dropped | sandbox latency per call | wall time | peak RSS above idle | idle RSS | rows landed (distinct) | outcome |',
    '|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.format === 'zip' ? 'ZIP' : 'bare CSV'} (${(r.size / MiB).toFixed(1)} MiB) | ${r.latency} ms | ${r.seconds.toFixed(1)} s | **${above(r).toFixed(1)} MiB** | ${(r.idleRssBytes / MiB).toFixed(1)} MiB | ${r.landed.total.toLocaleString('en-US')} (${r.landed.distinct.toLocaleString('en-US')}) | ${outcome(r)} |`,
    ),
  ].join('\n');
  const allOnce = results.every(once);
  const met = (ok: boolean) => (allOnce && ok ? 'met' : 'NOT met');
  const latencyRatio = find('zip', 200).seconds / find('zip', 0).seconds;
  const csvRatios = [0, 200].map((latency) => find('csv', latency).seconds / find('zip', latency).seconds);
  const verdicts = [
    `Every row once: ${allOnce ? 'yes' : 'NO: the figures below measure a failed import'} (records with the run's emails, all distinct, and zoho-added).`,
    `ZIP, wall time at 200 ms / at 0 ms: **${latencyRatio.toFixed(2)}** (goal ≤ ${RATIO_GOAL}): ${met(latencyRatio <= RATIO_GOAL)}.`,
    `Bare CSV / ZIP, wall time at 0 ms: **${csvRatios[0]?.toFixed(2)}**, at 200 ms: **${csvRatios[1]?.toFixed(2)}** (goal ≤ ${RATIO_GOAL}): ${met(csvRatios.every((r) => r <= RATIO_GOAL))}.`,
    `Peak RSS above idle: ${results.map((r) => `${above(r).toFixed(1)} MiB`).join(', ')} (goal ≤ ${RSS_GOAL_MIB} MiB): ${met(results.every((r) => above(r) <= RSS_GOAL_MIB))}.`,
  ];
  const section = [
    SECTION,
    '',
    `One bulk import of ${ROWS.toLocaleString('en-US')} rows (\`Last_Name,Email,Description\`) through the real`,
    'bulk-write handler, dropped as one ZIP and as the bare CSV (which the function zips itself):',
    'inspect, split into ZIP parts of 25,000 rows uploaded while the CSV is cut, jobs created and',
    'followed side by side (ZOHO_MAX_IN_FLIGHT 10, the sandbox admits 10 in flight), results joined',
    'to every input row. Follow-ups wait BULK_POLL_SECONDS (1 s) in every run. Each import runs',
    'alone in a fresh process (RSS sampled every 10 ms, idle = after a warm-up call); the sandbox,',
    's3rver and dynalite run in another. All four runs side by side in one `npm run bench:bulk`.',
    '',
    table,
    '',
    ...verdicts,
    '',
    `Machine: ${machine()}.`,
    `Command: \`npm run bench:bulk\` (\`node bench/bulk.ts\`), ${new Date().toISOString().slice(0, 10)}, ${((performance.now() - started) / 1000).toFixed(0)} s in all.`,
    '',
  ].join('\n');
  console.log(`\n${table}\n\n${verdicts.join('\n')}`);
  if (ROWS === 1_000_000) writeSection(SECTION, section);
}

await main();
