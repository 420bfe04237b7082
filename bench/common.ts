/** What the benches share: child processes spoken to over IPC, and their sections of BENCHMARKS.md. */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benchmarksFile = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));

export function child(script: URL): ChildProcess {
  return fork(fileURLToPath(script), {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function nextMessage<T>(process: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string; message?: string }) => {
      if (message.type === type) {
        process.off('message', onMessage);
        resolve(message as T);
      } else if (message.type === 'error') {
        process.off('message', onMessage);
        reject(new Error(message.message));
      }
    };
    process.on('message', onMessage);
    process.once('exit', (code) => {
      if (code !== 0) reject(new Error(`child exited with ${code}`));
    });
  });
}

/** Replaces this bench's section, leaving every other section of BENCHMARKS.md as it is. */
export function writeSection(title: string, section: string) {
  const current = existsSync(benchmarksFile) ? readFileSync(benchmarksFile, 'utf8') : '# Benchmarks\n\n';
  const start = current.indexOf(`${title}\n`);
  let next: string;
  if (start < 0) {
    next = `${current.replace(/\n*$/, '\n\n')}${section}`;
  } else {
    const end = current.indexOf('\n## ', start + title.length);
    next = `${current.slice(0, start)}${section}${end < 0 ? '' : current.slice(end + 1)}`;
  }
  writeFileSync(benchmarksFile, next);
}
