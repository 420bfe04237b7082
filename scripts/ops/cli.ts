/** What the operator commands share: AWS client settings, prompts, and how a command ends. */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { type LocalRun, localDir, readLocalRun } from '#tools/local/local-dir.ts';
import { localRunOutputs, readStackOutputs, type StackOutputs } from '#tools/ops/stack-outputs.ts';

/** A mistake in how the command was called: the message, then the usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs a command's main: a usage mistake exits 2, any other failure 1, each with one clear line on stderr. */
export function runCli(main: () => Promise<number | undefined>, help: string): void {
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
export function parseOrUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Credentials a local endpoint accepts: s3rver takes only its own dummy pair, the local SQS takes any. */
const LOCAL_ENDPOINT_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/**
 * Settings for an AWS SDK client: the region from `--region` (else the SDK's own chain). With
 * `--endpoint` on this machine and no AWS keys or profile in the environment, the local dummy keys.
 * S3 clients add `forcePathStyle` when an endpoint is given.
 */
export function awsClientConfig(options: {
  region?: string | undefined;
  endpoint?: string | undefined;
}): AwsClientConfig {
  const config: AwsClientConfig = {};
  if (options.region) config.region = options.region;
  if (options.endpoint) {
    config.endpoint = options.endpoint;
    config.region ??= process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const local = LOCAL_HOSTS.has(new URL(options.endpoint).hostname);
    if (local && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE) {
      config.credentials = LOCAL_ENDPOINT_CREDENTIALS;
    }
  }
  return config;
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

export function integerOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min)
    throw new UsageError(`${name} must be a whole number ≥ ${min}, not "${value}"`);
  return parsed;
}

/** The stack's outputs when `--stack` is given (CloudFormation at `--cloudformation-endpoint` in tests). */
export async function stackOutputs(values: {
  stack?: string | undefined;
  region?: string | undefined;
  'cloudformation-endpoint'?: string | undefined;
}): Promise<StackOutputs | undefined> {
  if (!values.stack) return undefined;
  const client = new CloudFormationClient(
    awsClientConfig({ region: values.region, endpoint: values['cloudformation-endpoint'] }),
  );
  try {
    return await readStackOutputs(client, values.stack);
  } finally {
    client.destroy();
  }
}

/** The options `--stack` brings to a command. */
export const STACK_OPTIONS = {
  stack: { type: 'string' },
  'cloudformation-endpoint': { type: 'string' },
} as const;

export const STACK_HELP = `  --stack <name>           take the bucket, secret, queues from the stack's outputs (CloudFormation DescribeStacks)`;

/** `--stack`, or `--local` for the pipeline `npm start` runs. */
export const STACK_OR_LOCAL_OPTIONS = {
  ...STACK_OPTIONS,
  local: { type: 'boolean', default: false },
} as const;

export const LOCAL_HELP = `  --local                  the same, and the endpoints, from the running (or last) npm start of this
                           folder (.local/run.json, or LOCAL_DIR's): no other option needed`;

/** Where the local run serves, for `--local`: the endpoints options default to. */
export type LocalEndpoints = Pick<LocalRun, 's3Endpoint' | 'sqsEndpoint' | 'dynamodbEndpoint'>;

/**
 * The outputs `--stack` or `--local` name (neither: undefined), and with `--local` the run's
 * endpoints. A local run that no longer runs is said on stderr: its endpoints will not answer.
 */
export async function commandOutputs(values: {
  stack?: string | undefined;
  local?: boolean | undefined;
  region?: string | undefined;
  'cloudformation-endpoint'?: string | undefined;
}): Promise<{ outputs: StackOutputs | undefined; local: LocalEndpoints | undefined }> {
  if (!values.local) return { outputs: await stackOutputs(values), local: undefined };
  if (values.stack) throw new UsageError('--local and --stack name different pipelines: give one');
  const directory = localDir();
  const { run, running } = await readLocalRun(directory);
  if (!running) {
    process.stderr.write(
      `The npm start that last ran in ${directory} (PID ${run.pid}) is not running: start it again to reach its S3 and queues.\n`,
    );
  }
  return { outputs: localRunOutputs(run, `${directory}/run.json`), local: run };
}
