/**
 * The bulk-write function, alone in a fresh process (what is measured): the real handler and
 * dependencies against the bench's S3, DynamoDB and sandbox. Follow-ups go through an in-process
 * timer instead of SQS (the queue is not what is measured); they carry the same message.
 * Reports the wall time from the S3 event to the import's final tags, and the peak RSS above idle.
 */
import { randomUUID } from 'node:crypto';
import type { S3Event, SQSRecord } from 'aws-lambda';
import { loadConfig } from '#lib/config.ts';
import { followUpMessage } from '#lib/pipeline/bulk/follow-up.ts';
import { createDeps } from '#lib/pipeline/deps.ts';
import { createHandler } from '#lib/pipeline/handler.ts';
import { readOutcome } from '#lib/pipeline/outcome-tags.ts';
import { readTagMap } from '#lib/s3/tags.ts';
import { createLambdaContext, toSqsRecord } from '#tools/local/event-source.ts';
import { S3RVER_CREDENTIALS } from '#tools/local/s3.ts';
import { s3EventFor } from '#tools/ops/requeue.ts';
import type { OAuthCredentials } from '#zoho/types.ts';

export interface BulkJob {
  env: Record<string, string>;
  credentials: OAuthCredentials;
  bucket: string;
  key: string;
  size: number;
}

export interface BulkResult {
  seconds: number;
  idleRssBytes: number;
  peakRssBytes: number;
  tags: Record<string, string>;
}

const SAMPLE_MS = 10;
// The function's own log lines and metrics would only flood the bench's output.
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:s3-to-zoho-bulk-write';

/** One message of the bulk function's queue, as Lambda's SQS event source hands it over. */
function sqsRecord(body: unknown): SQSRecord {
  const now = Date.now();
  const message = {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: JSON.stringify(body),
    md5OfBody: '',
    receiveCount: 1,
    sentTimestamp: now,
    firstReceiveTimestamp: now,
  };
  return toSqsRecord(message, QUEUE_ARN);
}

/** The object-created event S3 sends for the ZIP (key URL-encoded as S3 encodes it). */
function s3Event(job: BulkJob): S3Event {
  const at = { region: 'us-east-1', eventTime: new Date(), sequencer: Date.now().toString(16) };
  const object = { key: job.key, size: job.size, eTag: '', versionId: undefined };
  return s3EventFor(job.bucket, object, { ...at, configurationId: 'bench' });
}

async function run(job: BulkJob): Promise<BulkResult> {
  const config = loadConfig({
    ...job.env,
    FOLLOW_UP_QUEUE_URL: 'http://127.0.0.1:9/unused',
    BULK_POLL_SECONDS: '1',
  });
  const deps = await createDeps('bulk-write', config, {
    credentials: job.credentials,
    awsCredentials: S3RVER_CREDENTIALS,
  });
  const handler = createHandler('bulk-write', {
    ...deps,
    async followUp(payload) {
      setTimeout(() => void invoke(sqsRecord(followUpMessage(payload))), config.bulkPollSeconds * 1000);
    },
  });
  const invoke = (record: SQSRecord) =>
    handler(
      { Records: [record] },
      createLambdaContext({ functionName: 's3-to-zoho-bulk-write', timeoutMs: 900_000 }),
    );
  const tags = () => readTagMap(deps.s3, job.bucket, job.key);

  await deps.zoho.getOrgZgid(); // token and connection warm, as in a running Lambda
  await new Promise((resolve) => setTimeout(resolve, 300));
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_MS);
  const started = performance.now();
  await invoke(sqsRecord(s3Event(job)));
  for (;;) {
    const current = await tags();
    const { status } = readOutcome(current);
    if (status !== 'pushing' && status !== undefined) {
      clearInterval(timer);
      return {
        seconds: (performance.now() - started) / 1000,
        idleRssBytes: idle,
        peakRssBytes: peak,
        tags: current,
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

process.once('message', (job: BulkJob) => {
  run(job).then(
    (result) => process.send?.({ type: 'result', result }, () => process.exit(0)),
    (error: unknown) =>
      process.send?.({ type: 'error', message: error instanceof Error ? error.stack : String(error) }, () =>
        process.exit(1),
      ),
  );
});
process.send?.({ type: 'ready' });
