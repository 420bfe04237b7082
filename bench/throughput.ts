/**
 * `npm run bench:throughput`: 1,000 attachments of 10 KB dropped into `npm start`'s pipeline (run
 * in a child process, the files put from this one as a user would), with the Zoho sandbox
 * answering every call after 200 ms and after 0 ms, side by side in one run. Zoho's physical
 * limit is files × latency / concurrency limit (1000 × 0.2 s / 10 = 20 s); the goal is within
 * 1.2 × that, with no 429 and one token mint.
 *
 * Prints a markdown table and writes it to bench/results/throughput.md; with `--update` it also
 * replaces the "Throughput" section of BENCHMARKS.md.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { machine, nextMessage, writeSection } from './common.ts';
import type { PipelineFinished, PipelineJob } from './pipeline-process.ts';

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
  leadId: string;
}

interface Row {
  latencyMs: number;
  seconds: number;
  putSeconds: number;
  finished: PipelineFinished;
}

async function run(latencyMs: number): Promise<Row> {
  const job: PipelineJob = { latencyMs };
  const child = fork(new URL('./pipeline-process.ts', import.meta.url), [JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ready = await nextMessage<Ready>(child, 'ready');
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
            Key: `attachments/Leads/${ready.leadId}/file-${String(index).padStart(5, '0')}.bin`,
            // Each file its own content: one attachment per file content per record.
            Body: Buffer.concat([Buffer.from(`${latencyMs}/${index}/`), body]),
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: PUT_CONCURRENCY }, putter));
    const putSeconds = (Date.now() - started) / 1000;
    const finishedPromise = nextMessage<PipelineFinished>(child, 'finished');
    child.send({ type: 'expect', count: FILES });
    const finished = await finishedPromise;
    s3.destroy();
    return { latencyMs, seconds: (finished.lastLandedAt - started) / 1000, putSeconds, finished };
  } finally {
    child.send({ type: 'close' });
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

function table(rows: Row[]): string {
  const lines = [
    '| Zoho latency | files | all landed | files/s | limit (files × L / C) | ratio to limit | puts done | done | 429s | token mints | peak calls in flight |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { latencyMs, seconds, putSeconds, finished } of rows) {
    const limit = (FILES * latencyMs) / 1000 / finished.concurrencyLimit;
    const ratio = limit > 0 ? `${(seconds / limit).toFixed(2)} (goal ≤ ${GOAL_RATIO})` : '—';
    lines.push(
      `| ${latencyMs} ms | ${FILES} × ${FILE_BYTES / 1024} KB | ${seconds.toFixed(1)} s | ${(FILES / seconds).toFixed(0)} | ${limit > 0 ? `${limit.toFixed(1)} s` : '—'} | ${ratio} | ${putSeconds.toFixed(1)} s | ${finished.statuses.done ?? 0} | ${finished.tooManyRequests} | ${finished.tokenMints} | ${finished.peakInFlight} / ${finished.concurrencyLimit} |`,
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
  'local queues and DynamoDB and the sandbox share one Node process (S3 and DynamoDB on a worker thread), as in `npm start`; the PUTs come',
  'from another. The sandbox answers each API call after the latency and refuses (429) more than its',
  'concurrency limit in flight.',
].join('\n');
console.log(`\n${section}\n`);
writeSection('## Throughput', `## Throughput\n\n${section}`);
