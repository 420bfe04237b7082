/**
 * `npm start`'s pipeline in a process of its own (the embedded S3, the local queues and DynamoDB,
 * the handlers), pointed at the sandbox of bench/sandbox-process.ts as at a Zoho of its own, for
 * bench/throughput.ts, which drops the files from outside as a user would. Speaks over IPC:
 * `ready` with the S3 endpoint; `expect` N final outcomes, answered by `finished` with when the
 * last one landed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isFinal } from '#lib/pipeline/outcome-tags.ts';
import { startLocalPipeline } from '#tools/local/pipeline.ts';
import { sandboxAsZoho } from './common.ts';
import type { SandboxUrls } from './sandbox-process.ts';

export interface PipelineJob {
  zoho: SandboxUrls;
}

export interface PipelineFinished {
  type: 'finished';
  lastLandedAt: number;
  statuses: Record<string, number>;
  /** CPU time (user + system, every thread) the process spent from `ready` to the last landing. */
  cpuMs: number;
}

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { zoho } = JSON.parse(process.argv[2] ?? '{}') as PipelineJob;
const directory = await mkdtemp(path.join(os.tmpdir(), 'bench-throughput-'));
const pipeline = await startLocalPipeline({
  s3Port: 0,
  dynamodbPort: 0,
  sqsPort: 0,
  // As npm start keeps it: the objects, queues and DynamoDB on disk.
  localDir: directory,
  logLevel: 'SILENT',
  sendTestEvents: false,
  // The real Zoho mode, its hosts replaced by the sandbox's (as for any other Zoho-shaped server).
  env: { ...process.env, ...sandboxAsZoho(zoho) },
});

const statuses: Record<string, number> = {};
let landed = 0;
let expected = Number.POSITIVE_INFINITY;
let lastLandedAt = 0;

pipeline.on('landed', (landing) => {
  if (!isFinal(landing.status)) return;
  statuses[landing.status] = (statuses[landing.status] ?? 0) + 1;
  landed += 1;
  lastLandedAt = Date.now();
  if (landed >= expected) finish();
});

function finish(): void {
  const { user, system } = process.cpuUsage(cpuAtReady);
  const result: PipelineFinished = {
    type: 'finished',
    lastLandedAt,
    statuses,
    cpuMs: (user + system) / 1000,
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

const cpuAtReady = process.cpuUsage();
process.send?.({ type: 'ready', s3Endpoint: pipeline.s3Endpoint, bucket: pipeline.bucket });
