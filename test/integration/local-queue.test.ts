import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetQueueUrlCommand,
  QueueDoesNotExist,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type EventSource,
  type Invocation,
  type SqsHandler,
  startEventSource,
} from '#tools/local/event-source.ts';
import {
  createLocalQueue,
  type DeadLetter,
  type LocalQueue,
  type ReceivedMessage,
} from '#tools/local/queue.ts';
import { startSqsEndpoint } from '#tools/local/sqs-endpoint.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function queue(options: Partial<Parameters<typeof createLocalQueue>[0]> = {}): LocalQueue {
  const created = createLocalQueue({ name: 'test-queue', ...options });
  cleanups.push(() => created.close());
  return created;
}

function source(options: Omit<Parameters<typeof startEventSource>[0], 'functionName'>): EventSource {
  const started = startEventSource({ functionName: 'test-function', ...options });
  cleanups.push(() => started.stop());
  return started;
}

function collectInvocations(eventSource: EventSource): Invocation[] {
  const invocations: Invocation[] = [];
  eventSource.onInvocation((invocation) => invocations.push(invocation));
  return invocations;
}

const bodies = (event: SQSEvent) => event.Records.map((record) => record.body);
const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

describe('the local queue and its event source', () => {
  it('delivers batches of at most batchSize in the shape Lambda receives', async () => {
    const q = queue();
    for (const body of ['a', 'b', 'c', 'd', 'é']) q.send(body);
    const events: SQSEvent[] = [];
    const es = source({ queue: q, batchSize: 3, handler: async (event) => void events.push(event) });
    await es.idle();

    expect(events.map(bodies)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'é'],
    ]);
    const record = events[1]?.Records[1];
    expect(record).toMatchObject({
      body: 'é',
      md5OfBody: md5('é'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test-queue',
      awsRegion: 'us-east-1',
      messageAttributes: {},
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(Number(record?.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(record?.attributes.SentTimestamp),
    );
    expect(record?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.receiptHandle).toBeTruthy();
    expect(q.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0, deadLetters: 0 });
  });

  it('gathers messages for the batch window before invoking', async () => {
    const q = queue();
    const events: SQSEvent[] = [];
    const es = source({
      queue: q,
      batchSize: 10,
      batchWindowMs: 400,
      handler: async (event) => void events.push(event),
    });
    q.send('first');
    await new Promise((resolve) => setTimeout(resolve, 20));
    q.send('second');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await es.idle();

    expect(events.map(bodies)).toEqual([['first', 'second']]);
  });

  it('retries only the records named in batchItemFailures', async () => {
    const q = queue({ visibilityTimeoutMs: 30 });
    for (const body of ['ok-1', 'flaky', 'ok-2']) q.send(body);
    const seen: Array<[string, string]> = [];
    const handler: SqsHandler = async (event) => {
      const failures: SQSBatchResponse['batchItemFailures'] = [];
      for (const record of event.Records) {
        seen.push([record.body, record.attributes.ApproximateReceiveCount]);
        if (record.body === 'flaky' && record.attributes.ApproximateReceiveCount === '1') {
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures: failures };
    };
    const es = source({ queue: q, handler });
    const invocations = collectInvocations(es);
    await es.idle();
    await waitUntil(() => q.counts().inFlight === 0 && q.counts().visible === 0 && seen.length === 4);
    await es.idle();

    expect(seen).toEqual([
      ['ok-1', '1'],
      ['flaky', '1'],
      ['ok-2', '1'],
      ['flaky', '2'],
    ]);
    expect(invocations[0]?.failedMessageIds).toHaveLength(1);
    expect(invocations[0]?.error).toBeUndefined();
    expect(q.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0, deadLetters: 0 });
  });

  it('retries the whole batch when the handler throws', async () => {
    const q = queue({ visibilityTimeoutMs: 30 });
    q.send('x');
    q.send('y');
    let calls = 0;
    const es = source({
      queue: q,
      handler: async () => {
        calls += 1;
        if (calls === 1) throw new Error('boom');
        return undefined;
      },
    });
    const invocations = collectInvocations(es);
    await waitUntil(() => invocations.length === 2);

    expect(invocations[0]?.error?.message).toBe('boom');
    expect(invocations[0]?.failedMessageIds).toHaveLength(2);
    expect(invocations[1]?.records.map((r) => [r.body, r.attributes.ApproximateReceiveCount])).toEqual([
      ['x', '2'],
      ['y', '2'],
    ]);
    expect(invocations[1]?.failedMessageIds).toEqual([]);
  });

  it('fails the whole batch when batchItemFailures names a message not in it', async () => {
    const q = queue({ visibilityTimeoutMs: 30 });
    q.send('x');
    q.send('y');
    let calls = 0;
    const es = source({
      queue: q,
      handler: async () => {
        calls += 1;
        return calls === 1
          ? { batchItemFailures: [{ itemIdentifier: 'not-a-message-of-this-batch' }] }
          : undefined;
      },
    });
    const invocations = collectInvocations(es);
    await waitUntil(() => invocations.length === 2);

    expect(invocations[0]?.error?.message).toMatch(/Invalid batchItemFailures/);
    expect(invocations[1]?.records).toHaveLength(2);
  });

  it('moves a message to the dead letters after maxReceiveCount receives, with the last error', async () => {
    const q = queue({ visibilityTimeoutMs: 20, maxReceiveCount: 3 });
    const deadLetters: DeadLetter[] = [];
    q.onDeadLetter((deadLetter) => deadLetters.push(deadLetter));
    const { messageId } = q.send('poison');
    let calls = 0;
    source({
      queue: q,
      handler: async () => {
        calls += 1;
        throw new Error(`failure ${calls}`);
      },
    });
    await waitUntil(() => deadLetters.length === 1);

    expect(calls).toBe(3);
    expect(deadLetters[0]).toMatchObject({
      messageId,
      body: 'poison',
      receiveCount: 3,
      lastError: 'failure 3',
    });
    expect(q.deadLetters).toHaveLength(1);
    expect(q.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0, deadLetters: 1 });
  });

  it('keeps a delayed message hidden until its delay is over', async () => {
    const q = queue();
    const received: Array<{ body: string; at: number }> = [];
    const es = source({
      queue: q,
      handler: async (event) => {
        for (const record of event.Records) received.push({ body: record.body, at: Date.now() });
        return undefined;
      },
    });
    const sentAt = Date.now();
    q.send('later', { delayMs: 150 });
    q.send('now');
    expect(q.counts()).toMatchObject({ visible: 1, delayed: 1 });
    await waitUntil(() => received.length === 2);
    await es.idle();

    expect(received.map((r) => r.body)).toEqual(['now', 'later']);
    expect(received[1]?.at).toBeGreaterThanOrEqual(sentAt + 150);
  });

  it('never runs more than maxConcurrency invocations at once', async () => {
    const q = queue();
    for (let i = 0; i < 12; i++) q.send(`m${i}`);
    let active = 0;
    let peak = 0;
    let handled = 0;
    const es = source({
      queue: q,
      batchSize: 1,
      maxConcurrency: 3,
      handler: async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 15));
        active -= 1;
        handled += 1;
        return undefined;
      },
    });
    await es.idle();

    expect(handled).toBe(12);
    expect(peak).toBe(3);
  });

  it('is idle once stopped, even with messages left in the queue', async () => {
    const q = queue();
    const es = source({ queue: q, handler: async () => undefined });
    await es.stop();
    q.send('left behind');
    const settled = await Promise.race([
      es.idle().then(() => 'idle'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 200)),
    ]);
    expect(settled).toBe('idle');
    expect(q.counts()).toMatchObject({ visible: 1 });
  });

  it('gives the handler a Lambda context and fails a run that outlives the timeout', async () => {
    const q = queue({ visibilityTimeoutMs: 60_000 });
    q.send('slow');
    let remaining = Number.NaN;
    let functionName = '';
    const es = source({
      queue: q,
      timeoutMs: 80,
      handler: (_event, context) => {
        remaining = context.getRemainingTimeInMillis();
        functionName = context.functionName;
        return new Promise(() => {});
      },
    });
    const invocations = collectInvocations(es);
    await waitUntil(() => invocations.length === 1);

    expect(functionName).toBe('test-function');
    expect(remaining).toBeGreaterThan(0);
    expect(remaining).toBeLessThanOrEqual(80);
    expect(invocations[0]?.error?.message).toMatch(/^Task timed out after 0\.08 seconds/);
    expect(invocations[0]?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(q.counts()).toMatchObject({ inFlight: 1 });
  });
});

describe('the local SQS endpoint, with the real @aws-sdk/client-sqs', () => {
  async function endpoint() {
    const q = queue({ name: 's3-to-zoho-bulk-write' });
    const sqs = await startSqsEndpoint({ queues: [q] });
    cleanups.push(() => sqs.close());
    const client = new SQSClient({
      endpoint: sqs.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    cleanups.push(() => client.destroy());
    return { q, sqs, client, queueUrl: sqs.queueUrl('s3-to-zoho-bulk-write') };
  }

  it('answers GetQueueUrl with the URL the pipeline sends to', async () => {
    const { sqs, client } = await endpoint();
    const answer = await client.send(new GetQueueUrlCommand({ QueueName: 's3-to-zoho-bulk-write' }));
    expect(answer.QueueUrl).toBe(`${sqs.url}/000000000000/s3-to-zoho-bulk-write`);
  });

  it('takes SendMessage with DelaySeconds into the queue (the SDK checks the MD5)', async () => {
    const { q, client, queueUrl } = await endpoint();
    const body = JSON.stringify({
      kind: 's3-to-zoho/follow-up',
      payload: { key: 'bulk-write/Leads/insert/ünï.zip' },
    });
    const answer = await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: 1 }),
    );

    expect(answer.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.MD5OfMessageBody).toBe(md5(body));
    expect(q.counts()).toMatchObject({ delayed: 1, visible: 0 });
    expect(q.receive(10)).toEqual([]);
  });

  it('takes SendMessageBatch, failing only the invalid entries', async () => {
    const { q, client, queueUrl } = await endpoint();
    const answer = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'one', MessageBody: 'first' },
          { Id: 'two', MessageBody: 'second', DelaySeconds: 901 },
          { Id: 'three', MessageBody: 'third' },
        ],
      }),
    );

    expect(answer.Successful?.map((entry) => entry.Id)).toEqual(['one', 'three']);
    expect(answer.Failed).toEqual([
      expect.objectContaining({ Id: 'two', SenderFault: true, Code: 'InvalidParameterValue' }),
    ]);
    expect(q.receive(10).map((m) => m.body)).toEqual(['first', 'third']);
  });

  it('answers errors in the shape the SDK turns into its exceptions', async () => {
    const { client, sqs } = await endpoint();
    const missing = client.send(
      new SendMessageCommand({ QueueUrl: sqs.queueUrl('no-such-queue'), MessageBody: 'x' }),
    );
    await expect(missing).rejects.toBeInstanceOf(QueueDoesNotExist);

    const tooLate = client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('s3-to-zoho-bulk-write'),
        MessageBody: 'x',
        DelaySeconds: 901,
      }),
    );
    await expect(tooLate).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      $metadata: { httpStatusCode: 400 },
    });
  });
});

describe('a local queue kept in a journal', () => {
  const journalIn = async () => {
    const directory = await mkdtemp(join(tmpdir(), 'queue-journal-'));
    cleanups.push(() => rm(directory, { recursive: true, force: true }));
    return join(directory, 'queue.jsonl');
  };

  it('gives back after a restart what it held: waiting messages, those in flight once their time is up, dead letters', async () => {
    const journalPath = await journalIn();
    const options = { name: 'kept', journalPath, maxReceiveCount: 1 };
    const failing = createLocalQueue({ ...options, visibilityTimeoutMs: 1 });
    failing.send('dead');
    failing.recordFailure((failing.receive(1)[0] as ReceivedMessage).receiptHandle, 'it failed');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(failing.receive(1)).toEqual([]);
    failing.close();

    const before = createLocalQueue({ ...options, visibilityTimeoutMs: 300 });
    for (const body of ['done', 'in flight', 'waiting']) before.send(body);
    const [done] = before.receive(2) as [ReceivedMessage, ReceivedMessage];
    before.delete(done.receiptHandle);
    // As a kill would leave it: the file as written, no close.
    const receivedAt = Date.now();
    const after = queue({ ...options, maxReceiveCount: 2, visibilityTimeoutMs: 300 });

    expect(after.counts()).toMatchObject({ visible: 1, inFlight: 1, deadLetters: 1 });
    expect(after.deadLetters).toEqual([expect.objectContaining({ body: 'dead', lastError: 'it failed' })]);
    expect(after.receive(10).map((m) => m.body)).toEqual(['waiting']);
    await waitUntil(() => after.counts().visible > 0);
    expect(Date.now() - receivedAt).toBeGreaterThanOrEqual(250);
    // Received once before the restart: received again, its count going on.
    expect(after.receive(1).map((m) => [m.body, m.receiveCount])).toEqual([['in flight', 2]]);
    before.close();
  });

  it('skips a line a kill cut short, and starts from the state it read', async () => {
    const journalPath = await journalIn();
    const before = createLocalQueue({ name: 'cut', journalPath });
    before.send('whole');
    before.close();
    await appendFile(journalPath, '{"op":"send","message":{"messageId":"x","bo');

    const after = queue({ name: 'cut', journalPath });
    expect(after.receive(10).map((m) => m.body)).toEqual(['whole']);
    after.send('next');
    const again = queue({ name: 'cut', journalPath });
    expect(again.counts()).toMatchObject({ visible: 1, inFlight: 1 });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('Condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
