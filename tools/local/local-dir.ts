/**
 * Where `npm start` keeps what AWS would keep through a crash: the objects (s3/), DynamoDB's tables
 * (dynamodb/), each queue's messages and dead letters (queues/), and the embedded sandbox's state
 * (sandbox/). One folder, `.local/` at the project's root (git-ignored) unless told otherwise:
 * removing it, or `npm start -- --fresh`, starts clean.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_LOCAL_DIR = fileURLToPath(new URL('../../.local', import.meta.url));

export interface LocalPaths {
  s3: string;
  dynamodb: string;
  /** One journal per queue, named after it (`<name>.jsonl`). */
  queues: string;
  sandbox: string;
}

export function localPaths(localDir: string): LocalPaths {
  return {
    s3: join(localDir, 's3'),
    dynamodb: join(localDir, 'dynamodb'),
    queues: join(localDir, 'queues'),
    sandbox: join(localDir, 'sandbox'),
  };
}

export function queueJournalPath(localDir: string, queueName: string): string {
  return join(localPaths(localDir).queues, `${queueName}.jsonl`);
}

/** Forgets everything an earlier run kept: objects, tables, queues, the sandbox. */
export async function clearLocalDir(localDir: string): Promise<void> {
  await rm(localDir, { recursive: true, force: true });
}
