/**
 * A crash drill, shared by `npm run bench:crash` and its short version in `npm test`: `npm start`
 * (scripts/start.ts, in a child process) is killed with SIGKILL at random moments while files are
 * put, and started again each time on the same `.local` folder, nothing done by hand. Zoho (the
 * sandbox of bench/sandbox-process.ts) runs in a process of its own, so it outlives each kill as
 * Zoho outlives a crashed Lambda. Then every file is checked on the object's tags and in Zoho.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectTaggingCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isFinal, readOutcome, type TaggedOutcome } from '#lib/pipeline/outcome-tags.ts';
import { tagMap } from '#lib/s3/tags.ts';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { child, nextMessage, sandboxAsZoho } from './common.ts';
import type { SandboxUrls } from './sandbox-process.ts';

export interface CrashOptions {
  files: number;
  fileBytes: number;
  /** SIGKILLs of `npm start`, each at a random moment while the files are put. */
  kills: number;
  /** Each kind's function timeout (and so the visibility timeout) of the killed run. */
  functionTimeoutSeconds: number;
  /** Longest pause before each kill, from the moment the run is ready. */
  maxKillDelayMs: number;
  /** Told of each step (kills, restarts). */
  log?: (line: string) => void;
  /** A file to append what each `npm start` prints to (default: dropped). */
  outputFile?: string | undefined;
}

export interface CrashResult {
  files: number;
  kills: number;
  /** Files on no record in Zoho, on more than one, or whose object has no final tag. */
  lost: string[];
  duplicated: string[];
  notFinal: string[];
  /** Files whose `zoho-id` tag names another attachment than the one holding their bytes. */
  wrongId: string[];
  /**
   * From the last restart's `ready` (or the last PUT's answer, if later) to the last final tag;
   * undefined if some never got one.
   */
  settleMs: number | undefined;
  /** 2 × the function timeout. */
  goalMs: number;
  /** How long each restart took to be ready (S3 answering). */
  restartMs: number[];
}

interface Dropped {
  key: string;
  module: string;
  recordId: string;
  sha256: string;
  body: Buffer;
}

interface SandboxAttachment {
  id: string;
  module: string;
  recordId: string;
  sha256: string;
}

const START_SCRIPT = fileURLToPath(new URL('../scripts/start.ts', import.meta.url));
const PUT_CONCURRENCY = 4;
const READ_CONCURRENCY = 16;

export async function runCrash(options: CrashOptions): Promise<CrashResult> {
  const log = options.log ?? (() => undefined);
  const sandbox = child(new URL('./sandbox-process.ts', import.meta.url));
  const localDir = await mkdtemp(path.join(os.tmpdir(), 'crash-drill-'));
  let run: ChildProcess | undefined;
  try {
    const { sandbox: zoho } = await nextMessage<{ sandbox: SandboxUrls }>(sandbox, 'ready');
    const s3Port = await freePort();
    const env = startEnv(zoho, { localDir, s3Port, functionTimeoutSeconds: options.functionTimeoutSeconds });
    const s3 = createLocalS3Client(`http://127.0.0.1:${s3Port}`);
    const files = dropsFor(zoho, options);

    const sink = options.outputFile ? createWriteStream(options.outputFile, { flags: 'a' }) : undefined;
    run = await startRun(env, sink);
    const restartMs: number[] = [];
    let lastReadyAt = Date.now();
    const putting = putAll(s3, files);
    for (let kill = 1; kill <= options.kills; kill += 1) {
      await sleep(Math.random() * options.maxKillDelayMs);
      run.kill('SIGKILL');
      await once(run, 'exit');
      log(`kill ${kill}: SIGKILL; starting again`);
      const restartedAt = Date.now();
      run = await startRun(env, sink);
      lastReadyAt = Date.now();
      restartMs.push(lastReadyAt - restartedAt);
    }
    await putting;
    const from = Math.max(lastReadyAt, Date.now());
    log(`all put, ${Date.now() - lastReadyAt} ms after the last restart was ready`);

    const goalMs = 2 * options.functionTimeoutSeconds * 1000;
    const settledAt = await waitForFinalTags(s3, files, from + 2 * goalMs);
    const attachments = await sandboxAttachments(sandbox);
    const result = judge(files, await readOutcomes(s3, files), attachments);
    s3.destroy();
    return {
      files: files.length,
      kills: options.kills,
      ...result,
      settleMs: settledAt === undefined ? undefined : settledAt - from,
      goalMs,
      restartMs,
    };
  } finally {
    run?.kill('SIGKILL');
    sandbox.send({ type: 'close' });
    await once(sandbox, 'exit');
    await rm(localDir, { recursive: true, force: true });
  }
}

/** `npm start`'s environment: its state in `localDir`, Zoho the sandbox process (as a real Zoho). */
function startEnv(
  zoho: SandboxUrls,
  run: { localDir: string; s3Port: number; functionTimeoutSeconds: number },
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LOCAL_DIR: run.localDir,
    S3_PORT: String(run.s3Port),
    // Any free ones: tests beside this run may hold the fixed defaults.
    DYNAMODB_PORT: '0',
    SQS_PORT: '0',
    FUNCTION_TIMEOUT_SECONDS: String(run.functionTimeoutSeconds),
    LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...sandboxAsZoho(zoho),
  };
}

/** Starts `npm start` and resolves once its banner says it waits for files. */
async function startRun(env: NodeJS.ProcessEnv, sink: Writable | undefined): Promise<ChildProcess> {
  const started = spawn(process.execPath, [START_SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes('Waiting for files')) {
        started.stdout?.off('data', onData);
        resolve();
      }
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    started.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`)),
    );
  });
  // Read what it prints from now on, so a full pipe never stalls it.
  sink?.write(`--- npm start, pid ${started.pid}\n${output}`);
  for (const stream of [started.stdout, started.stderr]) {
    if (sink) stream?.on('data', (chunk: Buffer) => sink.write(chunk));
    else stream?.resume();
  }
  return started;
}

function dropsFor(zoho: SandboxUrls, options: CrashOptions): Dropped[] {
  return Array.from({ length: options.files }, (_, i) => {
    const body = Buffer.concat([Buffer.from(`file ${i}\n`), randomBytes(options.fileBytes)]);
    return {
      key: `attachments/Leads/${zoho.recordId}/crash-${i}.bin`,
      module: 'Leads',
      recordId: zoho.recordId,
      sha256: createHash('sha256').update(body).digest('hex'),
      body,
    };
  });
}

/** Puts every file, as a sync tool would: a PUT that fails (the run is down) is tried again. */
async function putAll(s3: S3Client, files: Dropped[]): Promise<void> {
  let next = 0;
  const putter = async () => {
    while (next < files.length) {
      const file = files[next++] as Dropped;
      for (;;) {
        try {
          await s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: file.key, Body: file.body }));
          break;
        } catch {
          await sleep(100);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: PUT_CONCURRENCY }, putter));
}

/** When the last file got a final tag, or undefined if some have none by `deadline`. */
async function waitForFinalTags(
  s3: S3Client,
  files: Dropped[],
  deadline: number,
): Promise<number | undefined> {
  let pending = files;
  while (Date.now() < deadline) {
    const outcomes = await readOutcomes(s3, pending);
    pending = pending.filter((file) => !isFinal(outcomes.get(file.key)?.status));
    if (pending.length === 0) return Date.now();
    await sleep(200);
  }
  return undefined;
}

async function readOutcomes(s3: S3Client, files: Dropped[]): Promise<Map<string, TaggedOutcome>> {
  const outcomes = new Map<string, TaggedOutcome>();
  for (let start = 0; start < files.length; start += READ_CONCURRENCY) {
    await Promise.all(
      files.slice(start, start + READ_CONCURRENCY).map(async (file) => {
        const { TagSet = [] } = await s3.send(
          new GetObjectTaggingCommand({ Bucket: 'inbox', Key: file.key }),
        );
        outcomes.set(file.key, readOutcome(tagMap(TagSet)));
      }),
    );
  }
  return outcomes;
}

async function sandboxAttachments(sandbox: ChildProcess): Promise<SandboxAttachment[]> {
  sandbox.send({ type: 'attachments' });
  const { attachments } = await nextMessage<{ attachments: SandboxAttachment[] }>(sandbox, 'attachments');
  return attachments;
}

function judge(
  files: Dropped[],
  outcomes: Map<string, TaggedOutcome>,
  attachments: SandboxAttachment[],
): Pick<CrashResult, 'lost' | 'duplicated' | 'notFinal' | 'wrongId'> {
  const result = {
    lost: [] as string[],
    duplicated: [] as string[],
    notFinal: [] as string[],
    wrongId: [] as string[],
  };
  for (const file of files) {
    const held = attachments.filter(
      (a) => a.module === file.module && a.recordId === file.recordId && a.sha256 === file.sha256,
    );
    const own = outcomes.get(file.key) ?? {};
    if (held.length === 0) result.lost.push(file.key);
    if (held.length > 1) result.duplicated.push(file.key);
    if (own.status !== 'done') result.notFinal.push(file.key);
    else if (held.length === 1 && own.zohoId !== held[0]?.id) result.wrongId.push(file.key);
  }
  return result;
}

/** A port free now, for the embedded S3 to take again on every restart. */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
