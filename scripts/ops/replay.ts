/**
 * `npm run replay -- --bucket <name> --prefix attachments/ --queue-url <url>`: push again what failed
 * or was never processed. `npm run replay -- --redrive --dlq-arn <arn>`: move the DLQ's messages back.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { listRedrives, startRedrive } from '#tools/ops/dlq-redrive.ts';
import {
  DEFAULT_STUCK_AFTER_MS,
  type ReplaySelection,
  type ReplayTarget,
  replayObjects,
} from '#tools/ops/requeue.ts';
import { kindOfPrefix, optionOrOutput } from '#tools/ops/stack-outputs.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { type CommandValues, integerOption, runCommand, UsageError } from './command.ts';
import { SCAN_OPTIONS, scanHelp, scanSettings, scanTarget } from './scan-options.ts';
import { awsClientConfig, LOCAL_HELP, STACK_HELP, stackOutputs } from './stack-options.ts';

const HELP = `Usage:
  npm run replay -- --bucket <name> --prefix <prefix> --queue-url <url> [--failed | --unprocessed | --stuck | --all | --force] [--dry-run] [--start-after <key>]
  npm run replay -- --local --prefix <prefix> [the same selection]        (the pipeline npm start runs)
  npm run replay -- --redrive --dlq-arn <arn> [--queue-arn <arn>] [--max-per-second <n>]
  npm run replay -- --redrive --status --dlq-arn <arn>

Re-queue objects: lists the objects under the prefix, reads their tags, and sends each selected
one to the queue as the event S3 sends when an object is created (key URL-encoded, size, eTag,
versionId). Folder markers and the bulk write results are left out. The queue must be the one of
the prefix's kind (attachments/ → the attachments queue, and so on).
  --bucket <name>          the stack's bucket
  --prefix <prefix>        e.g. attachments/, photos/, bulk-write/ (or narrower: attachments/Leads/)
  --queue-url <url>        the kind's queue
  --failed                 objects whose zoho-status is failed (the default)
  --unprocessed            objects without any zoho-status (in the bucket before the stack)
  --stuck                  objects left in zoho-status=pushing longer than --stuck-after (an
                           invocation that ended without an outcome; bulk writes stay pushing
                           while their jobs run, replaying them starts nothing new)
  --stuck-after <seconds>  default ${DEFAULT_STUCK_AFTER_MS / 1000}, the longest default function timeout
  --all                    failed, unprocessed and stuck
  --start-after <key>      resume a scan after this key (each run prints its last key)
  --force                  every object under the prefix, pushed ones included: an identical
                           file already attached is attached again, and a bulk import is sent
                           again whole, rows already in Zoho included: the only way to write a
                           done import's rows a second time (narrow the prefix to the key)
  --dry-run                list what would be re-queued, send nothing
${scanHelp('replayed')}

Redrive the dead-letter queue (SQS StartMessageMoveTask; one task per queue at a time):
  --redrive                move the DLQ's messages back to their source queue
  --dlq-arn <arn>          the dead-letter queue
  --queue-arn <arn>        send them there instead of to their source queue
  --max-per-second <n>     move rate (SQS: at most 500; default: SQS decides)
  --status                 list the DLQ's recent move tasks instead of starting one

Common:
${STACK_HELP}
                           (--bucket, --queue-url of the --prefix's kind, --dlq-arn of the --prefix's kind)
${LOCAL_HELP}
                           (a local run's dead letters are not redriven: replay their objects)
  --json                   print the result as JSON
  --region <region>        AWS region (default: the SDK's: AWS_REGION, profile)
  --endpoint <url>         a local S3 (path-style) and SQS, e.g. LocalStack (--local: npm start's S3)
  --sqs-endpoint <url>     a local SQS apart from the S3 one (default: --endpoint; --local: npm start's)
  -h, --help               this text

Replay a failed object once its cause is fixed in Zoho (the record exists, the permission is
granted): it is pushed as it is. A file that was itself wrong (too large, not an image) fails
again: upload a corrected file instead, which makes a new event of its own.

A bulk import (bulk-write/) that failed or expired resumes, it is never sent again whole: the
parts whose job completed keep their results; the jobs an earlier attempt made are looked at
again first (one that completed since is collected, one still running is followed with a new
deadline); only the parts whose job failed, was never made, or is unknown to Zoho get a new job.
Its results then cover every row once, with the outcome of the attempt that settled it. A done
import is left as it is, unless --force.`;

const OPTIONS = {
  ...SCAN_OPTIONS,
  prefix: { type: 'string' },
  'queue-url': { type: 'string' },
  failed: { type: 'boolean', default: false },
  unprocessed: { type: 'boolean', default: false },
  all: { type: 'boolean', default: false },
  force: { type: 'boolean', default: false },
  'dry-run': { type: 'boolean', default: false },
  stuck: { type: 'boolean', default: false },
  'stuck-after': { type: 'string' },
  'start-after': { type: 'string' },
  redrive: { type: 'boolean', default: false },
  'dlq-arn': { type: 'string' },
  'queue-arn': { type: 'string' },
  'max-per-second': { type: 'string' },
  status: { type: 'boolean', default: false },
  'sqs-endpoint': { type: 'string' },
} as const;

type Values = CommandValues<typeof OPTIONS>;

async function main(values: Values): Promise<number> {
  return values.redrive || values.status ? redrive(values) : replay(values);
}

async function replay(values: Values): Promise<number> {
  const { prefix } = values;
  const { outputs, local, bucket } = await scanTarget(values);
  const kind = outputs && prefix !== undefined ? kindOfPrefix(outputs, prefix) : undefined;
  const queueUrl = kind
    ? optionOrOutput(values['queue-url'], outputs, OUTPUT_NAMES.queueUrl(kind))
    : values['queue-url'];
  if (outputs && prefix !== undefined && !kind) {
    throw new UsageError(
      `--prefix ${prefix} lies under none of ${values.local ? "the local run's" : "the stack's"} watched prefixes`,
    );
  }
  if (!bucket || prefix === undefined || (!queueUrl && !values['dry-run'])) {
    throw new UsageError(
      '--bucket, --prefix and --queue-url (or --stack or --local, and --prefix) are required (--queue-url may be left out with --dry-run)',
    );
  }
  const select = selection(values);
  const stuckAfterSeconds = integerOption(
    '--stuck-after',
    values['stuck-after'],
    DEFAULT_STUCK_AFTER_MS / 1000,
    0,
  );
  const { s3, ...scan } = scanSettings(values, local);
  const sqs = new SQSClient(
    awsClientConfig({
      region: values.region,
      endpoint: values['sqs-endpoint'] ?? local?.sqsEndpoint ?? values.endpoint ?? local?.s3Endpoint,
    }),
  );
  const dryRun = values['dry-run'];
  try {
    const result = await replayObjects({
      s3,
      sqs,
      bucket,
      prefix,
      queueUrl: queueUrl ?? '',
      select,
      dryRun,
      force: values.force,
      ...scan,
      stuckAfterMs: stuckAfterSeconds * 1000,
      startAfter: values['start-after'],
      onSelected: values.json ? undefined : (target) => process.stdout.write(`${describe(target, dryRun)}\n`),
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ dryRun, select, ...result }, null, 2)}\n`);
    } else {
      for (const failure of result.failed) {
        process.stderr.write(`not queued  ${failure.key}  ${failure.code}: ${failure.message}\n`);
      }
      const verb = dryRun ? 'would re-queue' : `re-queued ${result.sent.length}`;
      process.stdout.write(
        `${result.scanned} objects under s3://${bucket}/${prefix}: ${result.selected.length} selected (${select}), ${verb}` +
          `${result.failed.length ? `, ${result.failed.length} refused by SQS` : ''}.` +
          `${result.lastKey ? ` Last key: ${result.lastKey} (--start-after resumes after it)` : ''}\n`,
      );
    }
    return result.failed.length ? 1 : 0;
  } finally {
    s3.destroy();
    sqs.destroy();
  }
}

function sqsClientConfig(values: Values) {
  return awsClientConfig({ region: values.region, endpoint: values['sqs-endpoint'] ?? values.endpoint });
}

function selection(values: Values): ReplaySelection {
  const asked = [values.failed, values.unprocessed, values.stuck].filter(Boolean).length;
  if (values.all || asked > 1) return 'all';
  return values.unprocessed ? 'unprocessed' : values.stuck ? 'stuck' : 'failed';
}

function describe(target: ReplayTarget, dryRun: boolean): string {
  const why = target.reason === 'failed' ? `failed (${target.error ?? 'no code'})` : target.reason;
  return `${dryRun ? 'would queue' : 'queue'}  ${why}  ${target.key}`;
}

async function redrive(values: Values): Promise<number> {
  if (values.local) {
    throw new UsageError(
      "npm start's local SQS has no move tasks: replay the dead-lettered objects instead (npm run replay -- --local --prefix <prefix> --all)",
    );
  }
  const outputs = await stackOutputs(values);
  const kind = outputs && values.prefix !== undefined ? kindOfPrefix(outputs, values.prefix) : undefined;
  const dlqArn = kind
    ? optionOrOutput(values['dlq-arn'], outputs, OUTPUT_NAMES.deadLetterQueueArn(kind))
    : values['dlq-arn'];
  if (!dlqArn)
    throw new UsageError('--dlq-arn (or --stack and --prefix) is required with --redrive and --status');
  const sqs = new SQSClient(sqsClientConfig(values));
  try {
    if (values.status) {
      const tasks = await listRedrives(sqs, dlqArn);
      if (values.json) process.stdout.write(`${JSON.stringify(tasks, null, 2)}\n`);
      else if (tasks.length === 0) process.stdout.write(`No move tasks for ${dlqArn}.\n`);
      else {
        for (const task of tasks) {
          const progress = `${task.moved ?? '?'}/${task.toMove ?? '?'} moved`;
          const failure = task.failureReason ? `  ${task.failureReason}` : '';
          process.stdout.write(
            `${task.startedAt ?? '-'}  ${task.status}  ${progress}  ${task.taskHandle ?? ''}${failure}\n`,
          );
        }
      }
      return 0;
    }
    const maxPerSecond = values['max-per-second'];
    const task = await startRedrive(sqs, {
      dlqArn,
      destinationArn: values['queue-arn'],
      maxPerSecond:
        maxPerSecond === undefined ? undefined : integerOption('--max-per-second', maxPerSecond, 0),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(task)}\n`);
    else {
      process.stdout.write(
        `Started moving messages from ${dlqArn} to ${values['queue-arn'] ?? 'their source queue'}.\n` +
          `Task handle: ${task.taskHandle}\nFollow it with: npm run replay -- --redrive --status --dlq-arn ${dlqArn}\n`,
      );
    }
    return 0;
  } finally {
    sqs.destroy();
  }
}

runCommand(HELP, OPTIONS, main);
