/**
 * SQS on this machine: a queue with delays, visibility timeouts, receive counts and a dead-letter
 * list, kept on disk when given a journal (queue-journal.ts) so that, as in SQS, a message
 * received by a process that dies comes back once its visibility timeout is over. The Lambda event
 * source that polls it is event-source.ts, its HTTP endpoint sqs-endpoint.ts.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  type JournalEntry,
  type JournaledMessage,
  openQueueJournal,
  type QueueJournal,
} from './queue-journal.ts';
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
  /**
   * The file that keeps the messages, their receives and the dead-letter list across restarts
   * (created if missing); default none: in memory only.
   */
  journalPath?: string;
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

/** `receiptHandle` is set once received: the handle of the latest receive. */
type StoredMessage = JournaledMessage;

export function createLocalQueue(options: LocalQueueOptions): LocalQueue {
  return new MemoryQueue(options);
}

/**
 * The messages in memory (and in the journal, if any), by id in the order sent; a timer wakes the
 * listeners when one becomes visible.
 */
class MemoryQueue implements LocalQueue {
  readonly name: string;
  readonly arn: string;
  readonly deadLetters: DeadLetter[];
  private readonly maxReceiveCount: number | undefined;
  private readonly visibilityTimeoutMs: number;
  private readonly messages: Map<string, StoredMessage>;
  private readonly journal: QueueJournal | undefined;
  private readonly availableListeners = new Set<() => void>();
  private readonly deadLetterListeners = new Set<(deadLetter: DeadLetter) => void>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private closed = false;

  constructor(options: LocalQueueOptions) {
    this.name = options.name;
    this.arn = `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${options.name}`;
    this.maxReceiveCount = options.maxReceiveCount;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.journal = options.journalPath ? openQueueJournal(options.journalPath) : undefined;
    this.messages = this.journal?.state.messages ?? new Map();
    this.deadLetters = this.journal?.state.deadLetters ?? [];
    // Messages kept from an earlier run: visible ones at once, those then in flight when their time is up.
    if (this.messages.size > 0) {
      this.scheduleWakeUp();
      queueMicrotask(() => this.notifyAvailable());
    }
  }

  send(body: string, sendOptions: { delayMs?: number } = {}): SentMessage {
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
    this.messages.set(message.messageId, message);
    this.journal?.append([{ op: 'send', message }]);
    if (message.visibleAt > now) this.scheduleWakeUp();
    else queueMicrotask(() => this.notifyAvailable());
    return { messageId: message.messageId, md5OfMessageBody: message.md5OfBody };
  }

  receive(max: number): ReceivedMessage[] {
    const now = Date.now();
    const received: ReceivedMessage[] = [];
    const entries: JournalEntry[] = [];
    for (const message of this.messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      // SQS redrives when a receive would exceed maxReceiveCount.
      if (this.maxReceiveCount !== undefined && message.receiveCount >= this.maxReceiveCount) {
        this.moveToDeadLetters(message, now);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.receiptHandle = randomUUID();
      message.visibleAt = now + this.visibilityTimeoutMs;
      entries.push({
        op: 'receive',
        id: message.messageId,
        receiptHandle: message.receiptHandle,
        visibleAt: message.visibleAt,
        receiveCount: message.receiveCount,
        firstReceiveTimestamp: message.firstReceiveTimestamp,
      });
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
    this.journal?.append(entries);
    this.scheduleWakeUp();
    return received;
  }

  delete(receiptHandle: string): boolean {
    for (const message of this.messages.values()) {
      if (message.receiptHandle === receiptHandle) {
        this.messages.delete(message.messageId);
        this.journal?.append([{ op: 'delete', id: message.messageId }]);
        this.scheduleWakeUp();
        return true;
      }
    }
    return false;
  }

  recordFailure(receiptHandle: string, reason: string): void {
    for (const message of this.messages.values()) {
      if (message.receiptHandle !== receiptHandle) continue;
      message.lastError = reason;
      this.journal?.append([{ op: 'fail', id: message.messageId, lastError: reason }]);
    }
  }

  counts(): QueueCounts {
    const now = Date.now();
    const counts: QueueCounts = { visible: 0, inFlight: 0, delayed: 0, deadLetters: this.deadLetters.length };
    for (const message of this.messages.values()) {
      if (message.visibleAt <= now) counts.visible += 1;
      else if (message.receiptHandle === undefined) counts.delayed += 1;
      else counts.inFlight += 1;
    }
    return counts;
  }

  onAvailable(listener: () => void): () => void {
    this.availableListeners.add(listener);
    return () => this.availableListeners.delete(listener);
  }

  onDeadLetter(listener: (deadLetter: DeadLetter) => void): () => void {
    this.deadLetterListeners.add(listener);
    return () => this.deadLetterListeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.journal?.close();
    if (this.timer) clearTimeout(this.timer);
    this.availableListeners.clear();
    this.deadLetterListeners.clear();
  }

  private notifyAvailable(): void {
    for (const listener of this.availableListeners) listener();
  }

  /** Wakes the listeners when the next hidden message becomes visible. */
  private scheduleWakeUp(): void {
    if (this.closed) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.messages.values())
      if (message.visibleAt > now) next = Math.min(next, message.visibleAt);
    if (next === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.scheduleWakeUp();
        this.notifyAvailable();
      },
      Math.max(next - now, 0),
    );
    this.timer.unref();
  }

  private moveToDeadLetters(message: StoredMessage, now: number): void {
    this.messages.delete(message.messageId);
    const deadLetter: DeadLetter = {
      messageId: message.messageId,
      body: message.body,
      receiveCount: message.receiveCount,
      lastError: message.lastError,
      deadLetteredAt: now,
    };
    this.deadLetters.push(deadLetter);
    this.journal?.append([{ op: 'dead', deadLetter }]);
    for (const listener of this.deadLetterListeners) listener(deadLetter);
  }
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}
