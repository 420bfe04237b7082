/**
 * What the commands that read the bucket's objects and their tags share (status, replay): their
 * options, the bucket and pipeline those name, and how the objects are read.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';
import { DEFAULT_TAG_CONCURRENCY } from '#tools/ops/scan.ts';
import { optionOrOutput, type StackOutputs } from '#tools/ops/stack-outputs.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { type CommandValues, integerOption } from './command.ts';
import {
  awsClientConfig,
  commandOutputs,
  type LocalEndpoints,
  STACK_OR_LOCAL_OPTIONS,
} from './stack-options.ts';

/** The options they all take; `--stack` or `--local` may name the bucket instead of `--bucket`. */
export const SCAN_OPTIONS = {
  bucket: { type: 'string' },
  'results-prefix': { type: 'string' },
  concurrency: { type: 'string' },
  json: { type: 'boolean', default: false },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  ...STACK_OR_LOCAL_OPTIONS,
} as const;

type ScanValues = CommandValues<typeof SCAN_OPTIONS>;

/** The pipeline those options name (`--stack`, `--local`: see commandOutputs) and its bucket (`--bucket`, else theirs). */
export async function scanTarget(values: ScanValues): Promise<{
  outputs: StackOutputs | undefined;
  local: LocalEndpoints | undefined;
  bucket: string | undefined;
}> {
  const { outputs, local } = await commandOutputs(values);
  return { outputs, local, bucket: optionOrOutput(values.bucket, outputs, OUTPUT_NAMES.bucket) };
}

/**
 * How the bucket is read: an S3 client for `--region` and `--endpoint` (else the local run's S3;
 * path-style when an endpoint is given), the bulk write results left out (`--results-prefix`,
 * else RESULTS_PREFIX) and the tag reads at once (`--concurrency`).
 */
export function scanSettings(
  values: ScanValues,
  local: LocalEndpoints | undefined,
): { s3: S3Client; resultsPrefix: string | undefined; concurrency: number } {
  const concurrency = integerOption('--concurrency', values.concurrency, DEFAULT_TAG_CONCURRENCY);
  const endpoint = values.endpoint ?? local?.s3Endpoint;
  const s3 = new S3Client({
    ...awsClientConfig({ region: values.region, endpoint }),
    forcePathStyle: Boolean(endpoint),
  });
  return { s3, resultsPrefix: values['results-prefix'] ?? process.env.RESULTS_PREFIX, concurrency };
}

/** The help of `--results-prefix` (bulk write results, never `what`: counted, replayed) and `--concurrency`. */
export function scanHelp(what: string): string {
  return `  --results-prefix <p>     bulk write results, never ${what} (default: $RESULTS_PREFIX or ${DEFAULT_RESULTS_PREFIX})
  --concurrency <n>        tag reads at once (default ${DEFAULT_TAG_CONCURRENCY})`;
}
