/**
 * A local queue's messages on disk, so they outlive the process as SQS messages outlive a crashed
 * Lambda: an append-only journal of what changed (sent, received, deleted, failed,
 * dead-lettered), one JSON line each, written before the queue answers. Opening it replays the
 * lines; then, and whenever a good deal has been appended, the file is rewritten as the state it
 * holds (a new file renamed over the old one), so it stays about the size of what is queued.
 *
 * Each line is written with one `write` to the file: once it returns the bytes are the kernel's,
 * and a kill -9 of the process loses none of them (a machine that loses power may: there is no
 * fsync, as nothing local needs to outlive the machine). A line cut short by a kill in the middle
 * of its write is skipped when the journal is read.
 */
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface JournaledMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentTimestamp: number;
  firstReceiveTimestamp: number | undefined;
  receiveCount: number;
  visibleAt: number;
  receiptHandle: string | undefined;
  lastError: string | undefined;
}

export interface JournaledDeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
  lastError: string | undefined;
  deadLetteredAt: number;
}

/** One change, as a line of the journal. */
export type JournalEntry =
  | { op: 'send'; message: JournaledMessage }
  | {
      op: 'receive';
      id: string;
      receiptHandle: string;
      visibleAt: number;
      receiveCount: number;
      firstReceiveTimestamp: number;
    }
  | { op: 'delete'; id: string }
  | { op: 'fail'; id: string; lastError: string }
  | { op: 'dead'; deadLetter: JournaledDeadLetter };

export interface QueueState {
  /** By id, in the order sent. */
  messages: Map<string, JournaledMessage>;
  deadLetters: JournaledDeadLetter[];
}

export interface QueueJournal {
  /**
   * What the journal held when opened. The queue keeps its messages in it and changes them in
   * place, each change followed by its entry: a rewrite of the file writes this state.
   */
  readonly state: QueueState;
  append(entries: readonly JournalEntry[]): void;
  close(): void;
}

/** Appended bytes after which the file is rewritten as the state it holds. */
const COMPACT_AFTER_BYTES = 16 * 1024 * 1024;

/** Opens (or creates) the journal at `path`: reads its state, compacts it, and appends from there. */
export function openQueueJournal(path: string): QueueJournal {
  mkdirSync(dirname(path), { recursive: true });
  const state = readState(path);
  let fd: number | undefined = compact(path, state);
  let appended = 0;
  return {
    state,
    append(entries) {
      if (fd === undefined || entries.length === 0) return;
      appended += writeSync(fd, lines(entries));
      if (appended < COMPACT_AFTER_BYTES) return;
      closeSync(fd);
      fd = compact(path, state);
      appended = 0;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

/** Writes `state` to a new file, renames it over the journal, and opens that for appending. */
function compact(path: string, state: QueueState): number {
  const compacted = `${path}.${process.pid}.tmp`;
  const fd = openSync(compacted, 'w');
  try {
    const entries = [
      ...[...state.messages.values()].map((message): JournalEntry => ({ op: 'send', message })),
      ...state.deadLetters.map((deadLetter): JournalEntry => ({ op: 'dead', deadLetter })),
    ];
    if (entries.length > 0) writeSync(fd, lines(entries));
  } finally {
    closeSync(fd);
  }
  renameSync(compacted, path);
  return openSync(path, 'a');
}

function lines(entries: readonly JournalEntry[]): string {
  return entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
}

function readState(path: string): QueueState {
  const state: QueueState = { messages: new Map(), deadLetters: [] };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  for (const line of text.split('\n')) {
    const entry = parseLine(line);
    if (entry) apply(state, entry);
  }
  return state;
}

/** A whole line, or undefined for an empty one or one a kill cut short. */
function parseLine(line: string): JournalEntry | undefined {
  if (line.trim() === '') return undefined;
  try {
    return JSON.parse(line) as JournalEntry;
  } catch {
    return undefined;
  }
}

function apply(state: QueueState, entry: JournalEntry): void {
  switch (entry.op) {
    case 'send':
      state.messages.set(entry.message.messageId, entry.message);
      return;
    case 'receive': {
      const message = state.messages.get(entry.id);
      if (!message) return;
      message.receiptHandle = entry.receiptHandle;
      message.visibleAt = entry.visibleAt;
      message.receiveCount = entry.receiveCount;
      message.firstReceiveTimestamp = entry.firstReceiveTimestamp;
      return;
    }
    case 'delete':
      state.messages.delete(entry.id);
      return;
    case 'fail': {
      const message = state.messages.get(entry.id);
      if (message) message.lastError = entry.lastError;
      return;
    }
    case 'dead':
      state.messages.delete(entry.deadLetter.messageId);
      state.deadLetters.push(entry.deadLetter);
      return;
  }
}
