/**
 * What an operator relies on: messages kept long enough to outlast an outage, an alarm before they
 * expire, outputs the operator commands read, lifecycle rules, a bucket that can be destroyed, an
 * imported secret's own KMS key, queue policies naming the account.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { KINDS } from '#lib/kinds.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { S3ToZoho } from '../../infra/s3-to-zoho.ts';
import {
  actionsOf,
  flatten,
  NO_BUNDLING,
  newApp,
  pipelineFunctions,
  resourcesOf,
  roleStatements,
  synthStacks,
} from './helpers.ts';

type Json = Record<string, unknown>;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:zoho-oauth-AbCdEf';
const SECRET_KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/abcd1234-12ab-34cd-56ef-1234567890ab';

let fresh: Template;
let operated: Template;
let shared: Template;

beforeAll(() => {
  ({
    templates: { fresh, operated, shared },
  } = synthStacks({
    fresh: {},
    operated: {
      zohoSecretArn: SECRET_ARN,
      zohoSecretKeyArn: SECRET_KEY_ARN,
      s3ToZoho: {
        removalPolicy: RemovalPolicy.DESTROY,
        monitoring: { oldestMessageAlarmAge: Duration.hours(1) },
        source: {
          lifecycle: {
            noncurrentVersionExpiration: Duration.days(7),
            expireDoneAfter: Duration.days(90),
            transitionDoneAfter: Duration.days(30),
          },
        },
      },
    },
    shared: {
      bucketName: 'shared-bucket',
      s3ToZoho: { source: { eventBridge: true } },
    },
  }));
}, 120_000);

function queues(template: Template): Array<[string, Json]> {
  return Object.entries(template.findResources('AWS::SQS::Queue')).map(([id, q]) => [
    id,
    (q as Json).Properties as Json,
  ]);
}

describe('queues and their alarms', () => {
  it('keep every message 14 days, the main queues as the dead-letter ones', () => {
    const all = queues(fresh);
    expect(all).toHaveLength(6);
    for (const [id, properties] of all) expect(properties.MessageRetentionPeriod, id).toBe(14 * 24 * 3600);
  });

  it('alarm on the age of each main queue oldest message (3 h by default, a prop)', () => {
    for (const [template, seconds] of [
      [fresh, 3 * 3600],
      [operated, 3600],
    ] as const) {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
        .map((a) => (a as Json).Properties as Json)
        .filter((p) => p.MetricName === 'ApproximateAgeOfOldestMessage');
      expect(alarms).toHaveLength(3);
      for (const alarm of alarms) {
        expect(alarm).toMatchObject({ Namespace: 'AWS/SQS', Threshold: seconds, Statistic: 'Maximum' });
        expect(alarm.AlarmActions).toHaveLength(1);
      }
      const sourceQueues = queues(template)
        .filter(([, p]) => p.RedrivePolicy)
        .map(([id]) => id)
        .sort();
      const alarmed = alarms.map((a) =>
        flatten((a.Dimensions as Json[])[0]?.Value).replace(/^<|\.QueueName>$/g, ''),
      );
      expect(alarmed.sort()).toEqual(sourceQueues);
    }
  });

  it('let S3 send only from this bucket of this account (aws:SourceArn and aws:SourceAccount)', () => {
    const statements = Object.values(fresh.findResources('AWS::SQS::QueuePolicy')).flatMap(
      (p) => (((p as Json).Properties as Json).PolicyDocument as { Statement: Json[] }).Statement,
    );
    const fromS3 = statements.filter(
      (s) => flatten((s.Principal as Json | undefined)?.Service) === 's3.amazonaws.com',
    );
    expect(fromS3).toHaveLength(3);
    for (const statement of fromS3) {
      expect(statement.Condition).toEqual({
        ArnLike: { 'aws:SourceArn': expect.anything() },
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
    }
  });
});

describe('stack outputs for the operator commands', () => {
  it('name the bucket, the secret, the ledger table, each queue URL, DLQ ARN and prefix', () => {
    const outputs = fresh.findOutputs('*');
    const expected = [
      OUTPUT_NAMES.bucket,
      OUTPUT_NAMES.secretArn,
      OUTPUT_NAMES.ledgerTable,
      ...KINDS.flatMap((kind) => [
        OUTPUT_NAMES.queueUrl(kind),
        OUTPUT_NAMES.deadLetterQueueArn(kind),
        OUTPUT_NAMES.prefix(kind),
      ]),
    ];
    expect(Object.keys(outputs).sort()).toEqual(expected.sort());
    expect(outputs[OUTPUT_NAMES.prefix('bulk-write')]?.Value).toBe('bulk-write/');
    expect(flatten(outputs[OUTPUT_NAMES.ledgerTable]?.Value)).toMatch(
      /^<S3ToZohoIdempotencyTable[0-9A-F]+>$/,
    );
    expect(flatten(outputs[OUTPUT_NAMES.queueUrl('photo')]?.Value)).toMatch(
      /^<S3ToZohoPhotoQueue[0-9A-F]+>$/,
    );
    expect(flatten(outputs[OUTPUT_NAMES.deadLetterQueueArn('attachment')]?.Value)).toMatch(
      /^<S3ToZohoAttachmentDeadLetterQueue[0-9A-F]+\.Arn>$/,
    );
  });
});

describe('the bucket lifecycle', () => {
  it('expires noncurrent versions (30 days by default) and nothing tagged done unless asked', () => {
    fresh.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' })],
      },
    });
  });

  it('expires or moves objects tagged zoho-status=done after the days asked', () => {
    operated.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 7 } }),
          Match.objectLike({
            TagFilters: [{ Key: 'zoho-status', Value: 'done' }],
            ExpirationInDays: 90,
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
          }),
        ]),
      },
    });
  });
});

describe('removalPolicy destroy', () => {
  it('empties the buckets it created before deleting them; retain does not', () => {
    expect(Object.keys(operated.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(2);
    expect(Object.keys(fresh.findResources('Custom::S3AutoDeleteObjects'))).toHaveLength(0);
  });
});

describe('an imported secret with its own KMS key', () => {
  it('lets every function decrypt with that key, and no other', () => {
    for (const fn of pipelineFunctions(operated)) {
      const decrypt = roleStatements(operated, fn.roleLogicalId).filter((s) =>
        actionsOf(s).includes('kms:Decrypt'),
      );
      expect(decrypt.flatMap(resourcesOf)).toEqual([SECRET_KEY_ARN]);
    }
    for (const fn of pipelineFunctions(fresh)) {
      const decrypt = roleStatements(fresh, fn.roleLogicalId).filter((s) =>
        actionsOf(s).includes('kms:Decrypt'),
      );
      expect(decrypt).toEqual([]);
    }
  });
});

describe('EventBridge mode (a shared bucket whose notifications another consumer uses)', () => {
  const rules = () =>
    Object.values(shared.findResources('AWS::Events::Rule')).map((r) => (r as Json).Properties as Json);

  it('feeds each queue by a rule with the same prefix and suffix filters, and sets no S3 notification to a queue', () => {
    const patterns = rules().map((rule) => rule.EventPattern as Json);
    expect(patterns).toHaveLength(4);
    const keys = patterns.map((pattern) => {
      expect(pattern.source).toEqual(['aws.s3']);
      expect(pattern['detail-type']).toEqual(['Object Created']);
      const detail = pattern.detail as { bucket: { name: unknown[] }; object: { key: unknown[] } };
      expect(detail.bucket.name).toEqual(['shared-bucket']);
      return detail.object.key;
    });
    expect(keys).toEqual([
      [{ prefix: 'attachments/' }],
      // File-upload fields go to the attachments queue too.
      [{ prefix: 'fields/' }],
      [{ prefix: 'photos/' }],
      // Every bulk file: the function takes .zip and .csv and refuses the rest with a reason.
      [{ prefix: 'bulk-write/' }],
    ]);
    const notifications = Object.values(shared.findResources('Custom::S3BucketNotifications')).map(
      (n) => ((n as Json).Properties as { NotificationConfiguration: Json }).NotificationConfiguration,
    );
    expect(notifications).toEqual([{ EventBridgeConfiguration: {} }]);
  });

  it('turns a suffix given to a kind into a wildcard on the key as the event carries it', () => {
    const stack = new Stack(newApp(NO_BUNDLING), 'SharedSuffixed');
    new S3ToZoho(stack, 'Z', { source: { eventBridge: true }, kinds: { 'bulk-write': { suffix: '.zip' } } });
    const keys = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule')).map(
      (r) =>
        (((r as Json).Properties as Json).EventPattern as { detail: { object: { key: unknown } } }).detail
          .object.key,
    );
    expect(keys).toContainEqual([{ wildcard: 'bulk-write/*.zip' }]);
  });

  it('lets only its rule of this account send to each queue', () => {
    const statements = Object.values(shared.findResources('AWS::SQS::QueuePolicy')).flatMap(
      (p) => (((p as Json).Properties as Json).PolicyDocument as { Statement: Json[] }).Statement,
    );
    const fromEvents = statements.filter(
      (s) => flatten((s.Principal as Json | undefined)?.Service) === 'events.amazonaws.com',
    );
    expect(fromEvents).toHaveLength(4); // one per rule: the attachments queue has two (attachments/, fields/)
    for (const statement of fromEvents) {
      const ruleArn = ((statement.Condition as Json).ArnEquals as Json)['aws:SourceArn'];
      expect(flatten(ruleArn)).toMatch(/^<S3ToZoho\w+Rule\w+\.Arn>$/);
      expect((statement.Condition as Json).StringEquals).toEqual({
        'aws:SourceAccount': { Ref: 'AWS::AccountId' },
      });
    }
    expect(
      statements.filter((s) => flatten((s.Principal as Json | undefined)?.Service) === 's3.amazonaws.com'),
    ).toEqual([]);
  });
});
