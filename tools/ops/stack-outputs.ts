/**
 * The stack's outputs (infra/outputs.ts), read by stack name with CloudFormation DescribeStacks,
 * so the operator commands take `--stack S3ToZoho` instead of a bucket, a secret ARN and queue
 * URLs copied by hand.
 */
import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { OUTPUT_KINDS, OUTPUT_NAMES, type OutputKind } from '../../infra/outputs.ts';

export interface KindOutputs {
  queueUrl: string | undefined;
  deadLetterQueueArn: string | undefined;
  prefix: string | undefined;
}

export interface StackOutputs {
  stackName: string;
  bucket: string | undefined;
  secretArn: string | undefined;
  kinds: Record<OutputKind, KindOutputs>;
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
    kinds: Object.fromEntries(
      OUTPUT_KINDS.map((kind) => [
        kind,
        {
          queueUrl: outputs.get(OUTPUT_NAMES.queueUrl(kind)),
          deadLetterQueueArn: outputs.get(OUTPUT_NAMES.deadLetterQueueArn(kind)),
          prefix: outputs.get(OUTPUT_NAMES.prefix(kind)),
        },
      ]),
    ) as Record<OutputKind, KindOutputs>,
  };
}

/** The kind whose watched prefix holds `prefix` (attachments/Leads/ → attachment), if any. */
export function kindOfPrefix(outputs: StackOutputs, prefix: string): OutputKind | undefined {
  return OUTPUT_KINDS.find((kind) => {
    const watched = outputs.kinds[kind].prefix;
    return watched !== undefined && prefix.startsWith(watched);
  });
}

/** An output the command needs, or an error naming it and the stack. */
export function requireOutput(outputs: StackOutputs, value: string | undefined, name: string): string {
  if (!value)
    throw new Error(`The stack ${outputs.stackName} has no output ${name}: deploy the current stack first`);
  return value;
}
