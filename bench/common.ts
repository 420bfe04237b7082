/**
 * What the benches share: child processes spoken to over IPC, and their results: always in
 * bench/results/, in BENCHMARKS.md only with `--update`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { SandboxUrls } from './sandbox-process.ts';

const benchmarksFile = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

export function child(script: URL, args: string[] = []): ChildProcess {
  return fork(fileURLToPath(script), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function nextMessage<T>(process: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      process.off('message', onMessage);
      process.off('exit', onExit);
    };
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === type) {
        settle();
        resolve(message as T);
      } else if (message.type === 'error') {
        settle();
        reject(new Error(message.message));
      }
    };
    const onExit = (code: number | null) => {
      settle();
      if (code !== 0) reject(new Error(`child exited with ${code}`));
    };
    process.on('message', onMessage);
    process.once('exit', onExit);
  });
}

/** The flag that lets a bench change BENCHMARKS.md (`npm run bench -- --update`). */
export const UPDATE_FLAG = '--update';
const resultsDirectory = fileURLToPath(new URL('./results/', import.meta.url));

/** Replaces the section titled `title` (up to the next `## ` heading) or appends it; other sections stay. */
export function replaceSection(document: string, title: string, replacement: string): string {
  const start = document.indexOf(`${title}\n`);
  if (start < 0) {
    const base = document.trim() ? `${document.trimEnd()}\n\n` : '# Benchmarks\n\n';
    return `${base}${replacement}`;
  }
  const next = document.indexOf('\n## ', start + title.length);
  const tail = next < 0 ? '' : document.slice(next + 1);
  return `${document.slice(0, start)}${replacement}${tail ? `\n${tail}` : ''}`;
}

/**
 * Writes a bench's section (`title` its first line) to bench/results/{name}.md (git-ignored), and
 * into BENCHMARKS.md only with `--update`: a run on a busy laptop never rewrites the published figures.
 */
export function writeSection(title: string, section: string): void {
  const text = section.endsWith('\n') ? section : `${section}\n`;
  const name = title
    .replace(/^#+\s*/, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  mkdirSync(resultsDirectory, { recursive: true });
  const written = [`${resultsDirectory}${name}.md`];
  writeFileSync(written[0] as string, text);
  if (process.argv.includes(UPDATE_FLAG)) {
    const current = existsSync(benchmarksFile) ? readFileSync(benchmarksFile, 'utf8') : '';
    writeFileSync(benchmarksFile, replaceSection(current, title, text));
    written.push(benchmarksFile);
  }
  const hint = written.length === 1 ? ` (${UPDATE_FLAG} also writes BENCHMARKS.md)` : '';
  console.log(`Written to ${written.join(' and ')}${hint}`);
}

/**
 * The settings that point `npm start`'s pipeline at the sandbox process as at a real Zoho (its
 * hosts replaced by the sandbox's, as for any other Zoho-shaped server).
 */
export function sandboxAsZoho(zoho: SandboxUrls): Record<string, string> {
  return {
    ZOHO_CLIENT_ID: zoho.credentials.clientId,
    ZOHO_CLIENT_SECRET: zoho.credentials.clientSecret,
    ZOHO_REFRESH_TOKEN: zoho.credentials.refreshToken,
    ZOHO_DC: 'us',
    ZOHO_ACCOUNTS_URL: zoho.accountsUrl,
    ZOHO_API_URL: zoho.apiUrl,
    ZOHO_UPLOAD_URL: zoho.uploadUrl,
  };
}

/** The machine, for the line beside each figure. */
export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB memory, Node ${process.version}, ${os.platform()} ${os.arch()}`;
}
