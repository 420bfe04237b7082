/**
 * The cdk-nag findings acknowledged, each on its construct with the reason it does not apply
 * (app.ts runs the AwsSolutions pack on every synth; test/infra/nag.test.ts fails on a finding
 * left unacknowledged and on an acknowledgement no finding needs).
 */
import { type Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { Kind } from '#lib/kinds.ts';

/** A cdk-nag acknowledgment: the rule (or rule[finding]) and why it does not apply here. */
function acknowledge(scope: IConstruct, rules: [id: string, reason: string][]) {
  Validations.of(scope).acknowledge(...rules.map(([id, reason]) => ({ id, reason })));
}

/** A function role's prefix-scoped object ARNs in one bucket (resolved, as the stack names them). */
export function acknowledgePrefixArns(role: IConstruct, kind: Kind, prefixedArns: unknown[]): void {
  acknowledge(
    role,
    prefixedArns.map((arn): [string, string] => [
      `AwsSolutions-IAM5[Resource::${flattenForNag(arn)}]`,
      `The ${kind} function reads and tags only objects under its own key prefix; the trailing ` +
        'wildcard is how IAM names every object under a prefix, and no other keys are reachable.',
    ]),
  );
}

/** X-Ray's wildcard on a function role. */
export function acknowledgeTracing(role: IConstruct): void {
  acknowledge(role, [
    [
      'AwsSolutions-IAM5[Resource::*]',
      'AWS X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so ' +
        'active tracing requires the wildcard resource that Lambda itself documents.',
    ],
  ]);
}

/** The Zoho OAuth client secret the construct creates. */
export function acknowledgeSecretRotation(secret: IConstruct): void {
  acknowledge(secret, [
    [
      'AwsSolutions-SMG4',
      'A Zoho refresh token cannot be rotated by a Lambda: a new one needs a person to grant consent in ' +
        'Zoho, which the npm run auth command does and then stores here.',
    ],
  ]);
}

/**
 * The notifications custom resource CDK adds to the stack (one per stack, shared): its role and
 * runtime are CDK's, not ours.
 */
export function acknowledgeNotificationsHandler(stack: Stack): void {
  const handler = stack.node.children.find((child) => child.node.id.startsWith('BucketNotificationsHandler'));
  if (!handler) return;
  acknowledge(handler, [
    [
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'CDK own bucket notifications custom resource attaches the basic execution managed policy to ' +
        'its role so that it can write its logs; the role is not ours to shape.',
    ],
  ]);
}

/** The resource name cdk-nag gives a wildcard finding: references flattened, as in its IAM5 rule. */
function flattenForNag(value: unknown): string {
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (value && typeof value === 'object') {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flattenForNag).join(join[0]);
    const getAtt = node['Fn::GetAtt'] as [unknown, unknown] | undefined;
    if (getAtt) return `<${flattenForNag(getAtt[0])}.${flattenForNag(getAtt[1])}>`;
    if ('Fn::Sub' in node) return flattenForNag(node['Fn::Sub']);
    if ('Ref' in node) return `<${flattenForNag(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
