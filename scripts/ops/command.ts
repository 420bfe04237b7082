/**
 * How an operator command runs: it reads its options (`--help` prints its help), runs, and ends
 * with an exit code and one clear line for what went wrong; and how it asks a person.
 */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

/** A mistake in how the command was called: the message, then the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a command's main: a usage mistake exits 2, any other failure 1, each with one clear line on stderr. */
function runCli(main: () => Promise<number | undefined>, help: string): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`${error.message}\n\n${help}\n`);
        process.exitCode = 2;
        return;
      }
      const code = (error as { code?: unknown; name?: unknown }).code ?? (error as { name?: unknown }).name;
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`Error${typeof code === 'string' ? ` (${code})` : ''}: ${message}\n`);
      process.exitCode = 1;
    },
  );
}

/** parseArgs' own errors (unknown option, missing value) are usage mistakes too. */
function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** `-h`, `--help`: every command's. */
const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

/** The values of a command's options, `--help`'s too. */
export type CommandValues<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: T & typeof HELP_OPTION; strict: true; allowPositionals: false }>
>['values'];

/**
 * Runs a command (see runCli): reads its options (no positional arguments; `--help` prints the
 * help and ends), then runs its main with their values.
 */
export function runCommand<const T extends ParseArgsOptionsConfig>(
  help: string,
  options: T,
  main: (values: CommandValues<T>) => Promise<number | undefined>,
): void {
  runCli(async () => {
    const { values } = parseOrUsage(() =>
      parseArgs({ options: { ...options, ...HELP_OPTION }, strict: true, allowPositionals: false }),
    );
    if ((values as { help: boolean }).help) {
      process.stdout.write(`${help}\n`);
      return 0;
    }
    return main(values as CommandValues<T>);
  }, help);
}

/** A whole-number option of at least `min`; `fallback` when it is not given. */
export function integerOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min)
    throw new UsageError(`${name} must be a whole number ≥ ${min}, not "${value}"`);
  return parsed;
}

/**
 * Asks on the terminal without echoing what is typed (a secret); when stdin is a pipe, reads its
 * first line instead (`pass show zoho | npm run auth -- …`). The question goes to stderr, so that
 * stdout stays clean for `eval "$(…)"`.
 */
export async function promptHidden(question: string): Promise<string> {
  if (!process.stdin.isTTY) return firstLine(await readStdin());
  process.stderr.write(question);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const readline = createInterface({ input: process.stdin, output: silent, terminal: true });
  try {
    return (await readline.question('')).trim();
  } finally {
    readline.close();
    process.stderr.write('\n');
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function firstLine(text: string): string {
  return (text.split(/\r?\n/, 1)[0] ?? '').trim();
}
