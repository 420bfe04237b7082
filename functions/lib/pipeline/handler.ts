/**
 * The Lambda handler of one kind: parse the event at the edge, push each object, report. Fed by
 * SQS (partial batch responses: only failed records retry) or directly by S3 (a retryable failure
 * throws, so Lambda's own retries and on-failure destination take it).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, S3Event, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { METRIC } from '#lib/metric-names.ts';
import { type ObjectEvent, parseS3Event, parseSqsRecord } from '#lib/s3/event.ts';
import { followBulkImport } from './bulk/follow.ts';
import { importStore } from './bulk/store.ts';
import type { Kind, PipelineDeps } from './deps.ts';
import { processObject } from './process.ts';

export type { Kind } from './deps.ts';

export type PipelineHandler = (
  event: SQSEvent | S3Event,
  context: Context,
) => Promise<SQSBatchResponse | undefined>;

/**
 * Stop calling Zoho this long before the Lambda's own timeout, to record the outcome in time; a
 * quarter of the time left for a timeout under a minute (the stack's are minutes; a local run's
 * `FUNCTION_TIMEOUT_SECONDS` may be seconds).
 */
const DEADLINE_MARGIN_MS = 15_000;

export function createHandler(kind: Kind, deps: PipelineDeps): PipelineHandler {
  if (deps.kind !== kind) throw new Error(`The ${kind} handler was given the dependencies of ${deps.kind}`);
  const handle = async (
    event: SQSEvent | S3Event,
    context: Context,
  ): Promise<SQSBatchResponse | undefined> => {
    deps.registerContext(context);
    deps.metrics.addMetric(METRIC.recordsReceived, MetricUnit.Count, event.Records.length);
    const remaining = context.getRemainingTimeInMillis();
    const signal = AbortSignal.timeout(
      Math.max(Math.floor(remaining - Math.min(DEADLINE_MARGIN_MS, remaining / 4)), 1_000),
    );

    if (isSqsEvent(event)) {
      // One processor per invocation: it holds the batch's state, and local runs invoke concurrently.
      // A batch whose every record failed is reported record by record too: the queue retries those.
      return processPartialResponse(
        event,
        (record: SQSRecord) => handleSqsRecord(deps, record, signal),
        new BatchProcessor(EventType.SQS),
        { throwOnFullBatchFailure: false },
      );
    }
    for (const object of parseS3Event(event)) await handleObject(deps, object, signal);
    return undefined;
  };

  return middy(handle)
    .use(injectLambdaContext(deps.log, { resetKeys: true }))
    .use(logMetrics(deps.metrics, { captureColdStartMetric: true })) as unknown as PipelineHandler;
}

async function handleSqsRecord(deps: PipelineDeps, record: SQSRecord, signal: AbortSignal): Promise<void> {
  const parsed = parseSqsRecord(record);
  if ('skip' in parsed) {
    deps.log.debug('Skipping message', { messageId: record.messageId, reason: parsed.skip });
    return;
  }
  if ('followUp' in parsed) {
    if (deps.kind !== 'bulk-write') {
      deps.log.warn('A bulk write follow-up reached another kind; dropping it', {
        messageId: record.messageId,
      });
      return;
    }
    const scoped = withKeys(deps, { messageId: record.messageId });
    await followBulkImport(scoped, importStore(deps), parsed.followUp.payload, signal);
    return;
  }
  for (const object of parsed.objects)
    await handleObject(deps, { ...object, messageId: record.messageId }, signal);
}

async function handleObject(deps: PipelineDeps, object: ObjectEvent, signal: AbortSignal): Promise<void> {
  const scoped = withKeys(deps, {
    bucket: object.bucket,
    objectKey: object.key,
    versionId: object.versionId,
    messageId: object.messageId,
  });
  const started = Date.now();
  try {
    await processObject(scoped, object, signal);
    deps.metrics.addMetric(METRIC.pushDuration, MetricUnit.Milliseconds, Date.now() - started);
  } catch (error) {
    scoped.log.warn('Push will be retried', { error });
    scoped.countRetry(error);
    throw error;
  }
}

/** The same dependencies, with a logger that names the object on every line. */
function withKeys(deps: PipelineDeps, keys: Record<string, string | undefined>): PipelineDeps {
  const persistentKeys = Object.fromEntries(Object.entries(keys).filter(([, v]) => v !== undefined));
  return { ...deps, log: deps.log.createChild({ persistentKeys }) };
}

function isSqsEvent(event: SQSEvent | S3Event): event is SQSEvent {
  return event.Records.some((r) => (r as { eventSource?: string }).eventSource === 'aws:sqs');
}
