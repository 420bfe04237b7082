/**
 * SQS on this machine: a queue with delays, visibility timeouts, receive counts and a dead-letter
 * list. The Lambda event source that polls it is event-source.ts, its HTTP endpoint sqs-endpoint.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './s3.ts';

/** SQS: DelaySeconds is at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;
/** SQS: a message body is at most 1 MiB. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export interface SentMessage {
  messageId: string;
  md5OfMessageBody: string;
}

export interface ReceivedMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
  md5OfBody: string;
  receiveCount: number;
  sentTimestamp: number;
  firstReceiveTimestamp: number;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  /** Why the last receive failed, as the poller saw it. */
  lastError: string | undefined;
  deadLetteredAt: number;
}

export interface QueueCounts {
  visible: number;
  inFlight: number;
  delayed: number;
  deadLetters: number;
}

export interface LocalQueueOptions {
  name: string;
  /** How long a received message stays hidden before it can be received again. Default 30 s (SQS's default). */
  visibilityTimeoutMs?: number;
  /** Receives after which a message moves to the dead-letter list; default: never (no redrive policy). */
  maxReceiveCount?: number;
}

export interface LocalQueue {
  readonly name: string;
  readonly arn: string;
  send(body: string, options?: { delayMs?: number }): SentMessage;
  /** Up to `max` visible messages, now hidden for the visibility timeout. */
  receive(max: number): ReceivedMessage[];
  /** Deletes the message last received with this handle; a stale handle deletes nothing, as in SQS. */
  delete(receiptHandle: string): boolean;
  /** Notes why a receive failed; the message comes back when its visibility timeout runs out. */
  recordFailure(receiptHandle: string, reason: string): void;
  counts(): QueueCounts;
  readonly deadLetters: readonly DeadLetter[];
  /** Calls `listener` when messages may have become visible; returns an unsubscribe. */
  onAvailable(listener: () => void): () => void;
  onDeadLetter(listener: (deadLetter: DeadLetter) => void): () => void;
  close(): void;
}

interface StoredMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentTimestamp: number;
  firstReceiveTimestamp: number | undefined;
  receiveCount: number;
  visibleAt: number;
  /** Set while received: the handle of the latest receive. */
  receiptHandle: string | undefined;
  lastError: string | undefined;
}

export function createLocalQueue(options: LocalQueueOptions): LocalQueue {
  const { name, maxReceiveCount } = options;
  const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
  const messages = new Map<string, StoredMessage>();
  const deadLetters: DeadLetter[] = [];
  const availableListeners = new Set<() => void>();
  const deadLetterListeners = new Set<(deadLetter: DeadLetter) => void>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let closed = false;

  function notifyAvailable(): void {
    for (const listener of availableListeners) listener();
  }

  /** Wakes the listeners when the next hidden message becomes visible. */
  function scheduleWakeUp(): void {
    if (closed) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of messages.values())
      if (message.visibleAt > now) next = Math.min(next, message.visibleAt);
    if (next === timerAt) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        timerAt = Number.POSITIVE_INFINITY;
        scheduleWakeUp();
        notifyAvailable();
      },
      Math.max(next - now, 0),
    );
    timer.unref();
  }

  function moveToDeadLetters(message: StoredMessage, now: number): void {
    messages.delete(message.messageId);
    const deadLetter: DeadLetter = {
      messageId: message.messageId,
      body: message.body,
      receiveCount: message.receiveCount,
      lastError: message.lastError,
      deadLetteredAt: now,
    };
    deadLetters.push(deadLetter);
    for (const listener of deadLetterListeners) listener(deadLetter);
  }

  return {
    name,
    arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`,
    deadLetters,

    send(body, sendOptions = {}) {
      const now = Date.now();
      const message: StoredMessage = {
        messageId: randomUUID(),
        body,
        md5OfBody: md5(body),
        sentTimestamp: now,
        firstReceiveTimestamp: undefined,
        receiveCount: 0,
        visibleAt: now + (sendOptions.delayMs ?? 0),
        receiptHandle: undefined,
        lastError: undefined,
      };
      messages.set(message.messageId, message);
      if (message.visibleAt > now) scheduleWakeUp();
      else queueMicrotask(notifyAvailable);
      return { messageId: message.messageId, md5OfMessageBody: message.md5OfBody };
    },

    receive(max) {
      const now = Date.now();
      const received: ReceivedMessage[] = [];
      for (const message of messages.values()) {
        if (received.length >= max) break;
        if (message.visibleAt > now) continue;
        // SQS redrives when a receive would exceed maxReceiveCount.
        if (maxReceiveCount !== undefined && message.receiveCount >= maxReceiveCount) {
          moveToDeadLetters(message, now);
          continue;
        }
        message.receiveCount += 1;
        message.firstReceiveTimestamp ??= now;
        message.receiptHandle = randomUUID();
        message.visibleAt = now + visibilityTimeoutMs;
        received.push({
          messageId: message.messageId,
          receiptHandle: message.receiptHandle,
          body: message.body,
          md5OfBody: message.md5OfBody,
          receiveCount: message.receiveCount,
          sentTimestamp: message.sentTimestamp,
          firstReceiveTimestamp: message.firstReceiveTimestamp,
        });
      }
      scheduleWakeUp();
      return received;
    },

    delete(receiptHandle) {
      for (const message of messages.values()) {
        if (message.receiptHandle === receiptHandle) {
          messages.delete(message.messageId);
          scheduleWakeUp();
          return true;
        }
      }
      return false;
    },

    recordFailure(receiptHandle, reason) {
      for (const message of messages.values()) {
        if (message.receiptHandle === receiptHandle) message.lastError = reason;
      }
    },

    counts() {
      const now = Date.now();
      const counts: QueueCounts = { visible: 0, inFlight: 0, delayed: 0, deadLetters: deadLetters.length };
      for (const message of messages.values()) {
        if (message.visibleAt <= now) counts.visible += 1;
        else if (message.receiptHandle === undefined) counts.delayed += 1;
        else counts.inFlight += 1;
      }
      return counts;
    },

    onAvailable(listener) {
      availableListeners.add(listener);
      return () => availableListeners.delete(listener);
    },

    onDeadLetter(listener) {
      deadLetterListeners.add(listener);
      return () => deadLetterListeners.delete(listener);
    },

    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      availableListeners.clear();
      deadLetterListeners.clear();
    },
  };
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
