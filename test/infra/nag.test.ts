import { type App, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthStacks } from './helpers.ts';

interface Acknowledgment {
  path: string;
  id: string;
  reason: string;
}

let app: App;

beforeAll(() => {
  ({ app } = synthStacks(
    {
      fresh: {},
      existing: {
        bucketArn: 'arn:aws:s3:::acme-crm-drop',
        bucketKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        zohoSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:zoho-oauth-AbCdEf',
        s3ToZoho: { monitoring: { alarmEmail: 'ops@example.com' } },
      },
      // The operator's options: buckets emptied on destroy (a CDK custom resource), done objects expiring,
      // the queues fed by EventBridge rules.
      destroyable: {
        zohoSecretArn: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:zoho-oauth-AbCdEf',
        zohoSecretKeyArn: 'arn:aws:kms:eu-west-1:111122223333:key/abcd1234-12ab-34cd-56ef-1234567890ab',
        s3ToZoho: {
          removalPolicy: RemovalPolicy.DESTROY,
          source: { lifecycle: { expireDoneAfter: Duration.days(90) }, eventBridge: true },
        },
      },
      // A second team's bucket, SSE-KMS, feeding the same queues (addSourceBucket).
      twoBuckets: {},
    },
    {},
    (built) => {
      const stack = built.twoBuckets;
      stack.s3ToZoho.addSourceBucket(Bucket.fromBucketName(stack, 'TeamB', 'team-b-drop'), {
        bucketKey: Key.fromKeyArn(
          stack,
          'TeamBKey',
          'arn:aws:kms:eu-west-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab',
        ),
      });
    },
  ));
}, 120_000);

/** Every acknowledgment recorded in the tree (`Validations.of(x).acknowledge`). */
function acknowledgments(root: IConstruct): Acknowledgment[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/** The findings cdk-nag reports when nothing is acknowledged: rule id → construct paths. */
function rawFindings(root: IConstruct): { id: string; paths: string[] }[] {
  const pack = new AwsSolutionsChecks(root);
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return pack.validateScope(root).violations.map((v) => ({
    id: v.ruleName,
    paths: v.violatingResources.map((r) => r.constructPath ?? ''),
  }));
}

describe('cdk-nag AwsSolutions', () => {
  it('finds no unacknowledged error or warning', () => {
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(app);
    expect(
      report.violations.map(
        (v) => `${v.ruleName} (${v.severity}) at ${v.violatingResources.map((r) => r.constructPath)}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('lets the app synthesize with the pack registered the way infra/app.ts registers it', () => {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    expect(() => app.synth({ force: true })).not.toThrow();
  });

  it('gives every acknowledgment a written reason of at least 10 words', () => {
    const all = acknowledgments(app);
    expect(all.length).toBeGreaterThan(0);
    for (const ack of all) {
      expect(ack.reason.trim().split(/\s+/).length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(10);
    }
  });

  it('acknowledges wildcard and managed-policy findings one by one, never a whole rule', () => {
    for (const ack of acknowledgments(app)) {
      if (/AwsSolutions-IAM[45]\b/.test(ack.id))
        expect(ack.id, ack.path).toMatch(/^AwsSolutions-IAM[45]\[.+\]$/);
    }
  });

  it('acknowledges only findings that exist, on the constructs that raise them', () => {
    const findings = rawFindings(app);
    for (const ack of acknowledgments(app)) {
      const finding = findings.find((f) => f.id === ack.id);
      expect(finding, `stale acknowledgment ${ack.id} at ${ack.path}`).toBeDefined();
      expect(
        finding?.paths.some((path) => path === ack.path || path.startsWith(`${ack.path}/`)),
        `${ack.id} acknowledged at ${ack.path} but raised at ${finding?.paths}`,
      ).toBe(true);
    }
  });

  it('still catches a real problem (the check is live)', () => {
    const findings = rawFindings(app).map((f) => f.id);
    expect(findings).toContain('AwsSolutions-SMG4');
    expect(findings).toContainEqual(
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*\/attachments\/\*\]$/),
    );
  });
});
