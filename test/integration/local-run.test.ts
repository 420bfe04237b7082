/**
 * One `npm start` per state folder, found by the operator commands: the lock names the running
 * one's PID, a lock left by a run killed with SIGKILL is taken over, and `status --local` reads
 * where the run serves from its run.json. `npm start` runs as a child process, as a user runs it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalDirInUseError, lockLocalDir, readLocalRun } from '#tools/local/local-dir.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
/** Every port free, whatever else runs on the machine. */
const PORTS = { S3_PORT: '0', SANDBOX_PORT: '0', DYNAMODB_PORT: '0', SQS_PORT: '0' };
let directory: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'local-run-'));
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(directory, { recursive: true, force: true });
});

/** A process that has ended: its PID names no one now. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid ?? 0;
}

describe('the state folder lock', () => {
  it('refuses a second holder while the first lives, naming its PID, and frees on release', async () => {
    const folder = join(directory, 'lock');
    const first = await lockLocalDir(folder);
    const refused = lockLocalDir(folder, process.pid + 1_000_000);
    await expect(refused).rejects.toBeInstanceOf(LocalDirInUseError);
    await expect(refused).rejects.toThrow(`in use by another npm start (PID ${process.pid})`);
    await first.release();
    const second = await lockLocalDir(folder, process.pid + 1_000_000);
    expect(await readFile(join(folder, 'npm-start.pid'), 'utf8')).toBe(`${process.pid + 1_000_000}\n`);
    await second.release();
  });

  it('takes over a lock whose process is gone', async () => {
    const folder = join(directory, 'stale');
    await lockLocalDir(folder).then((lock) => lock.release());
    await writeFile(join(folder, 'npm-start.pid'), `${await deadPid()}\n`);
    const lock = await lockLocalDir(folder);
    expect(await readFile(join(folder, 'npm-start.pid'), 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
  });
});

describe('npm start and the operator commands, on one state folder', () => {
  const env = () => ({ ...process.env, ...PORTS, LOCAL_DIR: join(directory, 'run'), LOG_LEVEL: 'SILENT' });

  /** Starts `npm start` (its script) and waits for the banner's last line. */
  async function start(): Promise<{ child: ChildProcess; output: () => string }> {
    const child = spawn(process.execPath, [join(ROOT, 'scripts/start.ts')], { cwd: ROOT, env: env() });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await vi.waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`npm start ended: ${output}`);
        expect(output).toContain('Waiting for files');
      },
      { timeout: 50_000, interval: 100 },
    );
    return { child, output: () => output };
  }

  it('refuses a second run, serves status --local, and after a kill -9 starts again', {
    timeout: 150_000,
  }, async () => {
    const first = await start();
    const { run: described, running } = await readLocalRun(join(directory, 'run'));
    expect(running).toBe(true);
    expect(described.pid).toBe(first.child.pid);
    expect(first.output()).toContain(`state        ${join(directory, 'run')}`);
    expect(first.output()).toContain('npm run status -- --local');

    const second = await run(process.execPath, [join(ROOT, 'scripts/start.ts')], {
      cwd: ROOT,
      env: env(),
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`in use by another npm start (PID ${first.child.pid})`);

    const status = await run(process.execPath, [join(ROOT, 'scripts/ops/status.ts'), '--local'], {
      cwd: ROOT,
      env: env(),
    });
    expect(status.stdout).toContain(`s3://${described.bucket}`);
    expect(status.stdout).toContain('No failures.');

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const gone = await run(process.execPath, [join(ROOT, 'scripts/ops/status.ts'), '--local'], {
      cwd: ROOT,
      env: env(),
    }).catch((error: { stderr: string }) => error);
    expect(gone.stderr).toContain(`(PID ${first.child.pid}) is not running`);

    const third = await start();
    expect((await readLocalRun(join(directory, 'run'))).run.pid).toBe(third.child.pid);
    third.child.kill('SIGTERM');
    await once(third.child, 'exit');
    await expect(readFile(join(directory, 'run', 'npm-start.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
