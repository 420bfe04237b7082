/**
 * The stack's outputs (infra/outputs.ts), read by stack name with CloudFormation DescribeStacks,
 * so the operator commands take `--stack S3ToZoho` instead of a bucket, a secret ARN and queue
 * URLs copied by hand.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { KINDS, type Kind, watchedPrefixes } from '#lib/routing/route.ts';
import type { LocalRun } from '#tools/local/local-dir.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';

export interface StackOutputs {
  stackName: string;
  /** Each output's value by its name (OUTPUT_NAMES). */
  values: ReadonlyMap<string, string>;
}

export async function readStackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackOutputs> {
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const [stack] = Stacks;
  if (!stack) throw new Error(`CloudFormation has no stack ${stackName}`);
  const values = new Map<string, string>();
  for (const { OutputKey, OutputValue } of stack.Outputs ?? []) {
    if (OutputKey && OutputValue) values.set(OutputKey, OutputValue);
  }
  return { stackName, values };
}

/**
 * What an option names when given; else, with `--stack`, the stack's output `name` (an error
 * naming the output and the stack when it has none); else undefined.
 */
export function optionOrOutput(
  given: string | undefined,
  outputs: StackOutputs | undefined,
  name: string,
): string | undefined {
  if (given !== undefined || !outputs) return given;
  const value = outputs.values.get(name);
  if (!value)
    throw new Error(`The stack ${outputs.stackName} has no output ${name}: deploy the current stack first`);
  return value;
}

/** The kind whose watched prefixes hold `prefix` (attachments/Leads/ → attachment, fields/ → attachment), if any. */
export function kindOfPrefix(outputs: StackOutputs, prefix: string): Kind | undefined {
  return KINDS.find((kind) =>
    stackWatchedPrefixes(outputs, kind).some((watched) => prefix.startsWith(watched)),
  );
}

/** Every prefix the stack's `kind` function watches: its own (an output), then its extra ones. */
export function stackWatchedPrefixes(outputs: StackOutputs, kind: Kind): string[] {
  const own = outputs.values.get(OUTPUT_NAMES.prefix(kind));
  return own ? watchedPrefixes(kind, own) : [];
}

/**
 * A local run (`npm start`'s run.json) read as a stack's outputs: its bucket, ledger table, queue
 * URLs and prefixes under the same names, so `--local` serves wherever `--stack` does.
 */
export function localRunOutputs(run: LocalRun, source: string): StackOutputs {
  const values = new Map<string, string>([
    [OUTPUT_NAMES.bucket, run.bucket],
    [OUTPUT_NAMES.ledgerTable, run.ledgerTable],
  ]);
  for (const kind of KINDS) {
    values.set(OUTPUT_NAMES.queueUrl(kind), run.queueUrls[kind]);
    const own = run.prefixes[kind]?.[0];
    if (own) values.set(OUTPUT_NAMES.prefix(kind), own);
  }
  return { stackName: `the local run (${source})`, values };
}
