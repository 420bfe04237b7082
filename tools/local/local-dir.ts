/**
 * The folder `npm start` keeps its state in: `.local/` at the project's root (git-ignored), or
 * LOCAL_DIR. It holds what AWS would keep through a crash: the objects (s3/), DynamoDB's tables
 * (dynamodb/), each queue's messages and dead letters (queues/), and the embedded sandbox's state
 * (sandbox/); `npm start -- --fresh` (or removing the folder) starts clean. One run at a time owns
 * it (a lock file holding the run's PID), and the run writes there where it serves (endpoints,
 * bucket, tables, queues), so that `npm run status -- --local` and `npm run replay -- --local`
 * find it without copying anything from the banner.
 */
import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KINDS, type Kind } from '#lib/routing/route.ts';
import type { LocalPipeline } from './pipeline.ts';
import type { NotificationRule } from './s3.ts';

/** `.local` at the project's root. */
export const DEFAULT_LOCAL_DIR = fileURLToPath(new URL('../../.local', import.meta.url));
const LOCK_FILE = 'npm-start.pid';
const RUN_FILE = 'run.json';

/** The state folder: LOCAL_DIR (resolved from the working directory) when set, else `.local` at the root. */
export function localDir(env: Record<string, string | undefined> = process.env): string {
  return env.LOCAL_DIR ? resolve(env.LOCAL_DIR) : DEFAULT_LOCAL_DIR;
}

export interface LocalPaths {
  s3: string;
  dynamodb: string;
  /** One journal per queue, named after it (`<name>.jsonl`). */
  queues: string;
  sandbox: string;
}

export function localPaths(directory: string): LocalPaths {
  return {
    s3: join(directory, 's3'),
    dynamodb: join(directory, 'dynamodb'),
    queues: join(directory, 'queues'),
    sandbox: join(directory, 'sandbox'),
  };
}

export function queueJournalPath(directory: string, queueName: string): string {
  return join(localPaths(directory).queues, `${queueName}.jsonl`);
}

/**
 * Forgets everything an earlier run kept: objects, tables, queues, the sandbox, where it served.
 * Only the lock stays: the caller holds it (take the lock first, then clear).
 */
export async function clearLocalDir(directory: string): Promise<void> {
  const kept = [...Object.values(localPaths(directory)), join(directory, RUN_FILE)];
  await Promise.all(kept.map((path) => rm(path, { recursive: true, force: true })));
}

/** Where a local run serves, as the operator commands need it (what `--stack` reads from CloudFormation). */
export interface LocalRun {
  pid: number;
  startedAt: string;
  s3Endpoint: string;
  bucket: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  /** The idempotency ledger, where the handlers keep full reasons. */
  ledgerTable: string;
  queueUrls: Record<Kind, string>;
  /** Each kind's watched prefixes (the bucket's notifications). */
  prefixes: Record<Kind, string[]>;
  /** The Zoho sandbox's URL, when the run pushes to it (`npm run demo` reads its seeded records). */
  sandboxUrl?: string | undefined;
}

/** Thrown when another live run holds the folder. */
export class LocalDirInUseError extends Error {
  override name = 'LocalDirInUseError';
  readonly pid: number;

  constructor(directory: string, pid: number) {
    super(
      `${directory} is in use by another npm start (PID ${pid}). Stop that one first, or give this one ` +
        'a folder of its own: LOCAL_DIR=.local-2 npm start (with other ports: S3_PORT, SANDBOX_PORT, ' +
        'DYNAMODB_PORT, SQS_PORT).',
    );
    this.pid = pid;
  }
}

export interface LocalDirLock {
  directory: string;
  /** Removes the lock file, if it is still this process's. */
  release(): Promise<void>;
}

/**
 * Takes the folder for this process: a lock file with its PID, created only when absent. A lock
 * whose process is gone (a run killed with SIGKILL, a crash) is taken over; a live one refused.
 */
export async function lockLocalDir(directory: string, pid = process.pid): Promise<LocalDirLock> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, LOCK_FILE);
  for (let tries = 0; ; tries += 1) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(`${pid}\n`);
      await file.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 5) throw error;
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (!Number.isInteger(holder) && tries < 3) {
        // Created this very moment by another start, its PID not written yet: look again.
        await setTimeout(100);
        continue;
      }
      if (Number.isInteger(holder) && holder !== pid && isAlive(holder)) {
        throw new LocalDirInUseError(directory, holder);
      }
      await rm(path, { force: true });
    }
  }
  return {
    directory,
    async release() {
      const holder = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (holder === pid) await rm(path, { force: true });
    },
  };
}

/** Whether a process with this PID runs (signal 0 checks without sending anything). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes where the run serves, whole or not at all (a reader never sees half a file). */
export async function writeLocalRun(directory: string, run: LocalRun): Promise<void> {
  const path = join(directory, RUN_FILE);
  await writeFile(`${path}.tmp`, `${JSON.stringify(run, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/**
 * Where the running (or last) run of this folder serves, and whether it still runs; a clear error
 * when none ever ran here.
 */
export async function readLocalRun(directory: string): Promise<{ run: LocalRun; running: boolean }> {
  const path = join(directory, RUN_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(
      `No local run found: ${path} does not exist. Start one with npm start (in this folder), or set LOCAL_DIR to the folder it uses.`,
    );
  }
  const run = JSON.parse(text) as LocalRun;
  if (!run.s3Endpoint || !run.bucket || !run.queueUrls)
    throw new Error(`${path} is not a local run's description`);
  return { run, running: isAlive(run.pid) };
}

/** What a started pipeline tells the operator commands (`notifications`: the bucket's, PIPELINE_NOTIFICATIONS). */
export function describeLocalRun(
  pipeline: Pick<
    LocalPipeline,
    'bucket' | 's3Endpoint' | 'sqsEndpoint' | 'dynamodbEndpoint' | 'ledgerTable' | 'queueUrls' | 'zoho'
  >,
  notifications: readonly NotificationRule[],
  pid = process.pid,
): LocalRun {
  const prefixes = Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      [...new Set(notifications.filter((rule) => rule.target === kind).map((rule) => rule.prefix ?? ''))],
    ]),
  ) as Record<Kind, string[]>;
  return {
    pid,
    startedAt: new Date().toISOString(),
    s3Endpoint: pipeline.s3Endpoint,
    bucket: pipeline.bucket,
    sqsEndpoint: pipeline.sqsEndpoint,
    dynamodbEndpoint: pipeline.dynamodbEndpoint,
    ledgerTable: pipeline.ledgerTable,
    queueUrls: pipeline.queueUrls,
    prefixes,
    sandboxUrl: pipeline.zoho.mode === 'sandbox' ? pipeline.zoho.url : undefined,
  };
}
