/**
 * The stack's outputs the operator commands read (`npm run status|replay|auth -- --stack NAME`),
 * named once here for the stack (stack.ts) and the commands (tools/ops/stack-outputs.ts).
 * Free of CDK imports: the commands load it without aws-cdk-lib.
 */
import { type Kind, kindRecord } from '#lib/kinds.ts';

export const OUTPUT_NAMES = {
  bucket: 'BucketName',
  secretArn: 'ZohoSecretArn',
  /** The idempotency ledger, where the functions keep the full text of reasons their tags cut short. */
  ledgerTable: 'LedgerTableName',
  queueUrl: (kind: Kind) => `${kindRecord(kind).outputName}QueueUrl`,
  deadLetterQueueArn: (kind: Kind) => `${kindRecord(kind).outputName}DeadLetterQueueArn`,
  /** The kind's watched prefix, so `--stack` also knows which queue a prefix goes to. */
  prefix: (kind: Kind) => `${kindRecord(kind).outputName}Prefix`,
} as const;
