/**
 * `npm run bench:throughput`: 1,000 attachments of 10 KB dropped into `npm start`'s pipeline (run
 * in a child process, the files put from this one as a user would), with the Zoho sandbox (in a
 * process of its own, as Zoho is a service of its own) answering every call after 200 ms and
 * after 0 ms, side by side in one run. Zoho's physical
 * limit is files × latency / concurrency limit (1000 × 0.2 s / 10 = 20 s); the goal is within
 * 1.2 × that, with no 429 and one token mint.
 *
 * Prints a markdown table and writes it to bench/results/throughput.md; with `--update` it also
 * replaces the "Throughput" section of BENCHMARKS.md.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { child, machine, nextMessage, writeSection } from './common.ts';
import type { PipelineFinished, PipelineJob } from './pipeline-process.ts';
import type { SandboxStats, SandboxUrls } from './sandbox-process.ts';

const FILES = Number(process.env.BENCH_FILES ?? 1000);
const FILE_BYTES = 10 * 1024;
/** `BENCH_LATENCIES=0` runs one of them only. */
const LATENCIES_MS = (process.env.BENCH_LATENCIES ?? '200,0').split(',').map(Number);
/** PUTs at once from the outside, as a sync tool would drop them. */
const PUT_CONCURRENCY = 16;
const GOAL_RATIO = 1.2;

interface Ready {
  type: 'ready';
  s3Endpoint: string;
  bucket: string;
}

interface Row {
  latencyMs: number;
  seconds: number;
  putSeconds: number;
  finished: PipelineFinished;
  zoho: SandboxStats;
}

/** One run: a fresh sandbox and a fresh pipeline, the files put from here. */
async function run(latencyMs: number): Promise<Row> {
  const sandbox = child(new URL('./sandbox-process.ts', import.meta.url));
  const { sandbox: zoho } = await nextMessage<{ sandbox: SandboxUrls }>(sandbox, 'ready');
  sandbox.send({ type: 'latency', latencyMs });
  await nextMessage(sandbox, 'latency');
  const job: PipelineJob = { zoho };
  const pipeline = child(new URL('./pipeline-process.ts', import.meta.url), [JSON.stringify(job)]);
  try {
    const ready = await nextMessage<Ready>(pipeline, 'ready');
    const s3 = createLocalS3Client(ready.s3Endpoint);
    const body = randomBytes(FILE_BYTES);
    const started = Date.now();
    let next = 0;
    const putter = async () => {
      while (next < FILES) {
        const index = next++;
        await s3.send(
          new PutObjectCommand({
            Bucket: ready.bucket,
            Key: `attachments/Leads/${zoho.recordId}/file-${String(index).padStart(5, '0')}.bin`,
            // Each file its own content: one attachment per file content per record.
            Body: Buffer.concat([Buffer.from(`${latencyMs}/${index}/`), body]),
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: PUT_CONCURRENCY }, putter));
    const putSeconds = (Date.now() - started) / 1000;
    const finishedPromise = nextMessage<PipelineFinished>(pipeline, 'finished');
    pipeline.send({ type: 'expect', count: FILES });
    const finished = await finishedPromise;
    s3.destroy();
    sandbox.send({ type: 'stats' });
    const stats = await nextMessage<SandboxStats>(sandbox, 'stats');
    return {
      latencyMs,
      seconds: (finished.lastLandedAt - started) / 1000,
      putSeconds,
      finished,
      zoho: stats,
    };
  } finally {
    for (const process of [pipeline, sandbox]) {
      const exited = new Promise((resolve) => process.once('exit', resolve));
      process.send({ type: 'close' });
      await exited;
    }
  }
}

function table(rows: Row[]): string {
  const lines = [
    '| Zoho latency | files | all landed | files/s | limit (files × L / C) | ratio to limit | puts done | done | 429s | token mints | peak calls in flight | pipeline CPU per file |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { latencyMs, seconds, putSeconds, finished, zoho } of rows) {
    const limit = (FILES * latencyMs) / 1000 / zoho.concurrencyLimit;
    const ratio = limit > 0 ? `${(seconds / limit).toFixed(2)} (goal ≤ ${GOAL_RATIO})` : '—';
    lines.push(
      `| ${latencyMs} ms | ${FILES} × ${FILE_BYTES / 1024} KB | ${seconds.toFixed(1)} s | ${(FILES / seconds).toFixed(0)} | ${limit > 0 ? `${limit.toFixed(1)} s` : '—'} | ${ratio} | ${putSeconds.toFixed(1)} s | ${finished.statuses.done ?? 0} | ${zoho.tooManyRequests} | ${zoho.tokenMints} | ${zoho.peakInFlight} / ${zoho.concurrencyLimit} | ${(finished.cpuMs / FILES).toFixed(1)} ms |`,
    );
  }
  return lines.join('\n');
}

const rows: Row[] = [];
for (const latencyMs of LATENCIES_MS) {
  console.log(`throughput: ${FILES} files, Zoho latency ${latencyMs} ms…`);
  rows.push(await run(latencyMs));
}
const section = [
  `Command: \`npm run bench:throughput\` (${FILES} files; \`BENCH_FILES\` changes it). ${machine()}.`,
  '',
  table(rows),
  '',
  'Measured from the first PUT to the last `zoho-status=done`. The pipeline, the embedded S3, the',
  'local queues and DynamoDB share one Node process (S3 and DynamoDB on a worker thread), as in',
  '`npm start`; the sandbox runs in a process of its own, as Zoho is a service of its own, and the',
  'PUTs come from a third. The sandbox answers each API call after the latency and refuses (429)',
  'more than its concurrency limit in flight. Pipeline CPU per file: user + system time of the',
  "pipeline's process (every thread, the embedded S3 taking the PUTs included) over the files: it",
  'does not swing with the machine as the wall time does.',
].join('\n');
console.log(`\n${section}\n`);
writeSection('## Throughput', `## Throughput\n\n${section}`);
