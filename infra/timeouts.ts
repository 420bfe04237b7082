/**
 * Each function's default timeout, for a whole batch: the stack sets it (s3-to-zoho.ts), `npm start`
 * gives its local invocations the same (tools/local/pipeline.ts), and replay takes an object left
 * `pushing` longer than the longest as stuck (tools/ops/requeue.ts). Free of CDK imports: the local
 * and operator tools load it without aws-cdk-lib.
 */
import type { Kind } from '#lib/routing/route.ts';

export const DEFAULT_TIMEOUT_SECONDS: Readonly<Record<Kind, number>> = {
  attachment: 300,
  photo: 120,
  'bulk-write': 300,
};
