/**
 * How events reach a kind's queue, and who may send them: an S3 notification, or an EventBridge
 * rule when the bucket's notifications belong to someone else. Each queue lets only its own sender
 * in this account send (aws:SourceArn and aws:SourceAccount).
 */
import { Stack } from 'aws-cdk-lib';
import { type IRule, type IRuleTarget, Rule, type RuleTargetConfig } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  type BucketNotificationDestinationConfig,
  BucketNotificationDestinationType,
  EventType,
  type IBucket,
  type IBucketNotificationDestination,
  type NotificationKeyFilter,
} from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { encodeS3EventKey } from '#lib/s3/event.ts';

/** The keys a queue gets the new objects of. */
export interface KeyFilter {
  prefix: string;
  suffix: string | undefined;
}

/**
 * The bucket's S3 notification of new objects under the filter to the queue; `sid` names the
 * statement that lets this bucket send in the queue's policy (one per bucket).
 */
export function notifyQueue(
  bucket: IBucket,
  queue: IQueue,
  filter: KeyFilter,
  sid = 'S3SendsObjectCreatedEvents',
): void {
  bucket.addEventNotification(EventType.OBJECT_CREATED, ownAccountQueueDestination(queue, sid), {
    prefix: filter.prefix,
    ...(filter.suffix ? { suffix: filter.suffix } : {}),
  } satisfies NotificationKeyFilter);
}

/** An EventBridge rule: its construct id, the name its description gives its queue, its statement id in the queue's policy. */
export interface RuleNames {
  id: string;
  queue: string;
  sid: string;
}

/**
 * A rule that puts the bucket's Object Created events under the filter on the queue. EventBridge
 * matches the key as the event carries it, URL-encoded, so the filters are too.
 */
export function ruleToQueue(
  scope: Construct,
  names: RuleNames,
  bucket: IBucket,
  queue: IQueue,
  filter: KeyFilter,
) {
  const prefix = encodeS3EventKey(filter.prefix);
  const key = filter.suffix
    ? [{ wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(encodeS3EventKey(filter.suffix))}` }]
    : [{ prefix }];
  return new Rule(scope, names.id, {
    description: `s3-to-zoho: new objects under ${filter.prefix} to the ${names.queue} queue`,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [bucket.bucketName] }, object: { key } },
    },
    targets: [ownAccountQueueTarget(queue, names.sid)],
  });
}

/** EventBridge's wildcard pattern takes `*` as any run of characters: a literal one is `\\*`. */
function escapeWildcard(text: string): string {
  return text.replace(/[\\*]/g, (c) => `\\${c}`);
}

/**
 * Lets an AWS service send a source's events to the queue, the policy naming the source
 * (aws:SourceArn) and the account (aws:SourceAccount): a bucket ARN has no account in it, so a
 * bucket of the same name in another account could otherwise send to the queue after this one is
 * deleted.
 */
function allowToSend(
  queue: IQueue,
  sender: { sid: string; service: string; sourceArn: string; match: 'ArnLike' | 'ArnEquals' },
) {
  queue.addToResourcePolicy(
    new PolicyStatement({
      sid: sender.sid,
      principals: [new ServicePrincipal(sender.service)],
      actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
      resources: [queue.queueArn],
      conditions: {
        [sender.match]: { 'aws:SourceArn': sender.sourceArn },
        StringEquals: { 'aws:SourceAccount': Stack.of(queue).account },
      },
    }),
  );
}

/** A queue as an S3 notification destination, only for the bucket in this account. */
function ownAccountQueueDestination(queue: IQueue, sid: string): IBucketNotificationDestination {
  return {
    bind(_scope: Construct, bucket: IBucket): BucketNotificationDestinationConfig {
      allowToSend(queue, {
        sid,
        service: 's3.amazonaws.com',
        sourceArn: bucket.bucketArn,
        match: 'ArnLike',
      });
      return { arn: queue.queueArn, type: BucketNotificationDestinationType.QUEUE, dependencies: [queue] };
    },
  };
}

/** A queue as an EventBridge rule target, only for the rule in this account. */
function ownAccountQueueTarget(queue: IQueue, sid: string): IRuleTarget {
  return {
    bind(rule: IRule): RuleTargetConfig {
      allowToSend(queue, {
        sid,
        service: 'events.amazonaws.com',
        sourceArn: rule.ruleArn,
        match: 'ArnEquals',
      });
      return { arn: queue.queueArn };
    },
  };
}
