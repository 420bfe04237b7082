/**
 * Which pipeline an operator command talks to: a stack's outputs (`--stack`), the local run
 * (`--local`), and the settings of its AWS clients (`--region`, `--endpoint`).
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { type LocalRun, localDir, readLocalRun } from '#tools/local/local-dir.ts';
import { localRunOutputs, readStackOutputs, type StackOutputs } from '#tools/ops/stack-outputs.ts';
import { UsageError } from './command.ts';

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
