/**
 * Lambda's SQS event source on this machine: a poller that hands batches of a local queue to a
 * handler the way Lambda does (batch size, batching window, maximum concurrency, partial batch
 * responses, the function timeout).
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { LocalQueue, ReceivedMessage } from './queue.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './s3.ts';

const SENDER_ID = 'AIDALOCALSQSSENDER0000';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface Invocation {
  functionName: string;
  awsRequestId: string;
  records: SQSRecord[];
  durationMs: number;
  /** Message ids that will be received again (listed in batchItemFailures, or the whole batch). */
  failedMessageIds: string[];
  /** Set when the invocation failed as a whole: thrown, timed out, or an invalid batch response. */
  error: Error | undefined;
  response: SQSBatchResponse | undefined;
}

export interface EventSourceOptions {
  queue: LocalQueue;
  handler: SqsHandler;
  functionName: string;
  /** Default 10. */
  batchSize?: number;
  /** How long to gather a batch once a first message is visible; default 0 (invoke at once). */
  batchWindowMs?: number;
  /** At most this many invocations at once; default 2 (the smallest Lambda allows). */
  maxConcurrency?: number;
  /** The function's timeout; default 60 s. */
  timeoutMs?: number;
  memoryLimitInMB?: number;
}

export interface EventSource {
  /** Calls `listener` after each invocation; returns an unsubscribe. */
  onInvocation(listener: (invocation: Invocation) => void): () => void;
  /** Resolves when no invocation runs and no message is visible (delayed or hidden ones may remain), or once stopped. */
  idle(): Promise<void>;
  /** Stops polling and waits for the invocations under way. */
  stop(): Promise<void>;
}

export function startEventSource(options: EventSourceOptions): EventSource {
  const { queue, handler, functionName } = options;
  const batchSize = options.batchSize ?? 10;
  const batchWindowMs = options.batchWindowMs ?? 0;
  const maxConcurrency = options.maxConcurrency ?? 2;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const memoryLimitInMB = options.memoryLimitInMB ?? 1024;
  const invocationListeners = new Set<(invocation: Invocation) => void>();
  const running = new Set<Promise<void>>();
  let idleWaiters: Array<() => void> = [];
  let windowTimer: NodeJS.Timeout | undefined;
  let windowOpen = false;
  let pumpScheduled = false;
  let stopped = false;

  const unsubscribe = queue.onAvailable(schedulePump);
  schedulePump();

  function schedulePump(): void {
    if (pumpScheduled || stopped) return;
    pumpScheduled = true;
    // One tick later, so messages sent together are received together.
    setImmediate(() => {
      pumpScheduled = false;
      pump();
    });
  }

  function pump(): void {
    while (!stopped && running.size < maxConcurrency) {
      const visible = queue.counts().visible;
      if (visible === 0) break;
      if (visible < batchSize && batchWindowMs > 0 && !windowOpen) {
        windowTimer ??= setTimeout(() => {
          windowOpen = true;
          pump();
        }, batchWindowMs);
        return;
      }
      if (windowTimer) clearTimeout(windowTimer);
      windowTimer = undefined;
      windowOpen = false;
      const batch = queue.receive(batchSize);
      if (batch.length === 0) continue;
      const invocation = invoke(batch).finally(() => {
        running.delete(invocation);
        pump();
      });
      running.add(invocation);
    }
    if (running.size === 0 && queue.counts().visible === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  async function invoke(batch: ReceivedMessage[]): Promise<void> {
    const report = await invokeWith(batch, { queue, handler, functionName, timeoutMs, memoryLimitInMB });
    for (const listener of invocationListeners) listener(report);
  }

  return {
    onInvocation(listener) {
      invocationListeners.add(listener);
      return () => invocationListeners.delete(listener);
    },
    idle() {
      // A stopped source receives nothing more: waiting for the queue to drain would never end.
      if (stopped) return Promise.resolve();
      return new Promise((resolve) => {
        idleWaiters.push(resolve);
        schedulePump();
      });
    },
    async stop() {
      stopped = true;
      unsubscribe();
      if (windowTimer) clearTimeout(windowTimer);
      await Promise.allSettled([...running]);
      for (const resolve of idleWaiters) resolve();
      idleWaiters = [];
    },
  };
}

/**
 * One invocation, as Lambda makes it: the handler called with the batch and a context, then each
 * message deleted, or left to be received again when it failed (listed in batchItemFailures, or
 * all of them when the invocation failed as a whole).
 */
async function invokeWith(
  batch: ReceivedMessage[],
  fn: Pick<EventSourceOptions, 'queue' | 'handler' | 'functionName'> & {
    timeoutMs: number;
    memoryLimitInMB: number;
  },
): Promise<Invocation> {
  const { queue, handler, functionName, timeoutMs, memoryLimitInMB } = fn;
  const records = batch.map((message) => toSqsRecord(message, queue.arn));
  const context = createLambdaContext({ functionName, timeoutMs, memoryLimitInMB });
  const startedAt = Date.now();
  let response: SQSBatchResponse | undefined;
  let error: Error | undefined;
  let failedMessageIds: string[] = [];

  try {
    const answer = await withTimeout(handler({ Records: records }, context), timeoutMs);
    response = answer ?? undefined;
    failedMessageIds = failedItems(response, records);
  } catch (caught) {
    error = caught instanceof Error ? caught : new Error(String(caught));
    failedMessageIds = records.map((record) => record.messageId);
  }

  const failed = new Set(failedMessageIds);
  for (const message of batch) {
    if (failed.has(message.messageId)) {
      queue.recordFailure(message.receiptHandle, error?.message ?? 'Reported in batchItemFailures');
    } else {
      queue.delete(message.receiptHandle);
    }
  }
  const durationMs = Date.now() - startedAt;
  return {
    functionName,
    awsRequestId: context.awsRequestId,
    records,
    durationMs,
    failedMessageIds,
    error,
    response,
  };
}

/**
 * The ids to retry, as Lambda reads a partial batch response: an item that names no message of
 * the batch makes the whole batch fail.
 */
function failedItems(response: SQSBatchResponse | undefined, records: SQSRecord[]): string[] {
  const items = response?.batchItemFailures;
  if (!items || items.length === 0) return [];
  const ids = new Set(records.map((record) => record.messageId));
  for (const item of items) {
    if (typeof item?.itemIdentifier !== 'string' || !ids.has(item.itemIdentifier)) {
      throw new Error(`Invalid batchItemFailures: ${JSON.stringify(item)} names no message of the batch`);
    }
  }
  return items.map((item) => item.itemIdentifier);
}

/** Lambda ends a run at its timeout; here the promise keeps going, but its result no longer counts. */
async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function toSqsRecord(message: ReceivedMessage, queueArn: string): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: message.receiptHandle,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(message.sentTimestamp),
      SenderId: SENDER_ID,
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    },
    messageAttributes: {},
    md5OfBody: message.md5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: LOCAL_REGION,
  };
}

export function createLambdaContext(options: {
  functionName: string;
  timeoutMs: number;
  memoryLimitInMB?: number;
}): Context {
  const { functionName, timeoutMs } = options;
  const deadline = Date.now() + timeoutMs;
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  const unsupported = () => {
    throw new Error('The callback-style Context methods are not supported; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${day}/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
