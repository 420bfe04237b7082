/**
 * The stack's outputs (infra/outputs.ts), read by stack name with CloudFormation DescribeStacks,
 * so the operator commands take `--stack S3ToZoho` instead of a bucket, a secret ARN and queue
 * URLs copied by hand.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { KINDS, type Kind, watchedPrefixes } from '#lib/routing/route.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';

export interface KindOutputs {
  queueUrl: string | undefined;
  deadLetterQueueArn: string | undefined;
  prefix: string | undefined;
}

export interface StackOutputs {
  stackName: string;
  bucket: string | undefined;
  secretArn: string | undefined;
  ledgerTable: string | undefined;
  kinds: Record<Kind, KindOutputs>;
}

export async function readStackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackOutputs> {
  const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const [stack] = Stacks;
  if (!stack) throw new Error(`CloudFormation has no stack ${stackName}`);
  const outputs = new Map((stack.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  return {
    stackName,
    bucket: outputs.get(OUTPUT_NAMES.bucket),
    secretArn: outputs.get(OUTPUT_NAMES.secretArn),
    ledgerTable: outputs.get(OUTPUT_NAMES.ledgerTable),
    kinds: Object.fromEntries(
      KINDS.map((kind) => [
        kind,
        {
          queueUrl: outputs.get(OUTPUT_NAMES.queueUrl(kind)),
          deadLetterQueueArn: outputs.get(OUTPUT_NAMES.deadLetterQueueArn(kind)),
          prefix: outputs.get(OUTPUT_NAMES.prefix(kind)),
        },
      ]),
    ) as Record<Kind, KindOutputs>,
  };
}

/** The kind whose watched prefixes hold `prefix` (attachments/Leads/ → attachment, fields/ → attachment), if any. */
export function kindOfPrefix(outputs: StackOutputs, prefix: string): Kind | undefined {
  return KINDS.find((kind) =>
    stackWatchedPrefixes(outputs, kind).some((watched) => prefix.startsWith(watched)),
  );
}

/** Every prefix the stack's `kind` function watches: its own (an output), then its extra ones. */
export function stackWatchedPrefixes(outputs: StackOutputs, kind: Kind): string[] {
  const own = outputs.kinds[kind].prefix;
  return own ? watchedPrefixes(kind, own) : [];
}

/** An output the command needs, or an error naming it and the stack. */
export function requireOutput(outputs: StackOutputs, value: string | undefined, name: string): string {
  if (!value)
    throw new Error(`The stack ${outputs.stackName} has no output ${name}: deploy the current stack first`);
  return value;
}
