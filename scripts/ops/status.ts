/** `npm run status -- --bucket <name>`: how many objects are done, failed, skipped, pushing, never processed. */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';
import { KINDS } from '#lib/routing/route.ts';
import {
  bucketStatus,
  DEFAULT_FAILURE_LIMIT,
  DEFAULT_STATUS_PREFIXES,
  formatStatus,
} from '#tools/ops/bucket-status.ts';
import { DEFAULT_TAG_CONCURRENCY } from '#tools/ops/scan.ts';
import { optionOrOutput, stackWatchedPrefixes } from '#tools/ops/stack-outputs.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import {
  awsClientConfig,
  commandOutputs,
  integerOption,
  LOCAL_HELP,
  parseOrUsage,
  runCli,
  STACK_HELP,
  STACK_OR_LOCAL_OPTIONS,
  UsageError,
} from './cli.ts';

const HELP = `Usage: npm run status -- (--bucket <name> | --stack <name> | --local) [options]

Counts the objects under each prefix by their zoho-status tag (done, failed, skipped,
pushing, and unprocessed: no tag at all), then lists the latest failures. Their reasons are
read in full from the ledger table when there is one (--stack or --ledger-table); otherwise
they are the tags' short form (S3 tags take no quotes, commas or brackets).

Options:
  --bucket <name>          the stack's bucket
${STACK_HELP}
${LOCAL_HELP}
  --prefix <prefix>        a prefix to count; repeat for several
                           (default: ${DEFAULT_STATUS_PREFIXES.join(' ')})
  --failures <n>           how many of the latest failures to list (default ${DEFAULT_FAILURE_LIMIT})
  --results-prefix <p>     bulk write results, never counted (default: $RESULTS_PREFIX or ${DEFAULT_RESULTS_PREFIX})
  --concurrency <n>        tag reads at once (default ${DEFAULT_TAG_CONCURRENCY})
  --ledger-table <name>    the idempotency ledger table (IDEMPOTENCY_TABLE), where the functions
                           keep the full reasons (default with --stack: its LedgerTableName output)
  --json                   print the report as JSON
  --region <region>        AWS region (default: the SDK's: AWS_REGION, profile)
  --endpoint <url>         a local S3, path-style (--local: npm start's)
  --dynamodb-endpoint <url>
                           a local DynamoDB, for --ledger-table (--local: npm start's)
  -h, --help               this text`;

async function main(): Promise<number> {
  const { values } = parseOrUsage(() =>
    parseArgs({
      options: {
        bucket: { type: 'string' },
        prefix: { type: 'string', multiple: true },
        failures: { type: 'string' },
        'results-prefix': { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'boolean', default: false },
        region: { type: 'string' },
        endpoint: { type: 'string' },
        'ledger-table': { type: 'string' },
        'dynamodb-endpoint': { type: 'string' },
        ...STACK_OR_LOCAL_OPTIONS,
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }),
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const { outputs, local } = await commandOutputs(values);
  const endpoint = values.endpoint ?? local?.s3Endpoint;
  const dynamodbEndpoint = values['dynamodb-endpoint'] ?? local?.dynamodbEndpoint;
  const bucket = optionOrOutput(values.bucket, outputs, OUTPUT_NAMES.bucket);
  if (!bucket) throw new UsageError('--bucket, --stack or --local is required');
  const watched = outputs && KINDS.flatMap((kind) => stackWatchedPrefixes(outputs, kind));

  const ledgerTable = values['ledger-table'] ?? outputs?.values.get(OUTPUT_NAMES.ledgerTable);
  if (dynamodbEndpoint && !ledgerTable)
    throw new UsageError('--dynamodb-endpoint needs --ledger-table (or --stack) to name the table');

  const s3 = new S3Client({ ...awsClientConfig({ ...values, endpoint }), forcePathStyle: Boolean(endpoint) });
  const ledger = ledgerTable
    ? {
        client: new DynamoDBClient(awsClientConfig({ region: values.region, endpoint: dynamodbEndpoint })),
        tableName: ledgerTable,
      }
    : undefined;
  try {
    const report = await bucketStatus({
      s3,
      bucket,
      prefixes: values.prefix ?? (watched?.length ? watched : undefined),
      failureLimit: integerOption('--failures', values.failures, DEFAULT_FAILURE_LIMIT, 0),
      resultsPrefix: values['results-prefix'] ?? process.env.RESULTS_PREFIX,
      concurrency: integerOption('--concurrency', values.concurrency, DEFAULT_TAG_CONCURRENCY),
      ledger,
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
    return 0;
  } finally {
    s3.destroy();
    ledger?.client.destroy();
  }
}

runCli(main, HELP);
