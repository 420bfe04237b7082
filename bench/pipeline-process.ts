/**
 * `npm start`'s pipeline in a process of its own (the embedded S3, the local queues and DynamoDB,
 * the handlers, the sandbox), for bench/throughput.ts, which drops the files from outside as a
 * user would. Speaks over IPC: `ready` with the S3 endpoint and a seeded Lead; `expect` N final
 * outcomes, answered by `finished` with when the last one landed and what the sandbox saw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalPipeline } from '#tools/local/pipeline.ts';

export interface PipelineJob {
  latencyMs: number;
}

export interface PipelineFinished {
  type: 'finished';
  lastLandedAt: number;
  statuses: Record<string, number>;
  tooManyRequests: number;
  tokenMints: number;
  peakInFlight: number;
  /** The sandbox's concurrency limit (Zoho Standard edition: 10). */
  concurrencyLimit: number;
}

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const job = JSON.parse(process.argv[2] ?? '{}') as PipelineJob;
const directory = await mkdtemp(path.join(os.tmpdir(), 'bench-throughput-'));
const pipeline = await startLocalPipeline({
  s3Port: 0,
  sandboxPort: 0,
  directory,
  logLevel: 'SILENT',
  sendTestEvents: false,
  env: { ...process.env, ZOHO_CLIENT_ID: '', ZOHO_CLIENT_SECRET: '', ZOHO_REFRESH_TOKEN: '' },
});
const sandbox = pipeline.sandbox;
if (!sandbox) throw new Error('The benchmark runs against the sandbox');
sandbox.faults.set({ latencyMs: job.latencyMs });

const FINAL = new Set(['done', 'failed', 'skipped']);
const statuses: Record<string, number> = {};
let landed = 0;
let expected = Number.POSITIVE_INFINITY;
let lastLandedAt = 0;

pipeline.on('landed', (landing) => {
  if (!FINAL.has(landing.status)) return;
  statuses[landing.status] = (statuses[landing.status] ?? 0) + 1;
  landed += 1;
  lastLandedAt = Date.now();
  if (landed >= expected) finish();
});

function finish(): void {
  const state = sandbox?.inspect();
  const requests = state?.requests ?? [];
  const result: PipelineFinished = {
    type: 'finished',
    lastLandedAt,
    statuses,
    tooManyRequests: requests.filter((request) => request.status === 429).length,
    tokenMints: state?.tokens.accessTokens.length ?? 0,
    peakInFlight: state?.concurrency.peak ?? 0,
    concurrencyLimit: state?.concurrency.limit ?? 0,
  };
  process.send?.(result);
}

process.on('message', (message: { type: string; count?: number }) => {
  if (message.type === 'expect') {
    expected = message.count ?? 0;
    if (landed >= expected) finish();
  }
  if (message.type === 'close') {
    void pipeline
      .close()
      .then(() => rm(directory, { recursive: true, force: true }))
      .then(() => process.exit(0));
  }
});

process.send?.({
  type: 'ready',
  s3Endpoint: pipeline.s3Endpoint,
  bucket: pipeline.bucket,
  leadId: sandbox.seed.Leads?.[0],
});
