/** `npm run status -- --bucket <name>`: how many objects are done, failed, skipped, pushing, never processed. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KINDS } from '#lib/routing/route.ts';
import {
  bucketStatus,
  DEFAULT_FAILURE_LIMIT,
  DEFAULT_STATUS_PREFIXES,
  formatStatus,
} from '#tools/ops/bucket-status.ts';
import { stackWatchedPrefixes } from '#tools/ops/stack-outputs.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { type CommandValues, integerOption, runCommand, UsageError } from './command.ts';
import { SCAN_OPTIONS, scanHelp, scanSettings, scanTarget } from './scan-options.ts';
import { awsClientConfig, LOCAL_HELP, STACK_HELP } from './stack-options.ts';

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
${scanHelp('counted')}
  --ledger-table <name>    the idempotency ledger table (IDEMPOTENCY_TABLE), where the functions
                           keep the full reasons (default with --stack: its LedgerTableName output)
  --json                   print the report as JSON
  --region <region>        AWS region (default: the SDK's: AWS_REGION, profile)
  --endpoint <url>         a local S3, path-style (--local: npm start's)
  --dynamodb-endpoint <url>
                           a local DynamoDB, for --ledger-table (--local: npm start's)
  -h, --help               this text`;

const OPTIONS = {
  ...SCAN_OPTIONS,
  prefix: { type: 'string', multiple: true },
  failures: { type: 'string' },
  'ledger-table': { type: 'string' },
  'dynamodb-endpoint': { type: 'string' },
} as const;

async function main(values: CommandValues<typeof OPTIONS>): Promise<number> {
  const { outputs, local, bucket } = await scanTarget(values);
  const dynamodbEndpoint = values['dynamodb-endpoint'] ?? local?.dynamodbEndpoint;
  if (!bucket) throw new UsageError('--bucket, --stack or --local is required');
  const watched = outputs && KINDS.flatMap((kind) => stackWatchedPrefixes(outputs, kind));

  const ledgerTable = values['ledger-table'] ?? outputs?.values.get(OUTPUT_NAMES.ledgerTable);
  if (dynamodbEndpoint && !ledgerTable)
    throw new UsageError('--dynamodb-endpoint needs --ledger-table (or --stack) to name the table');

  const failureLimit = integerOption('--failures', values.failures, DEFAULT_FAILURE_LIMIT, 0);
  const { s3, ...scan } = scanSettings(values, local);
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
      failureLimit,
      ...scan,
      ledger,
    });
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
    return 0;
  } finally {
    s3.destroy();
    ledger?.client.destroy();
  }
}

runCommand(HELP, OPTIONS, main);
