/**
 * What S3ToZoho takes, grouped by concern: the bucket (`source`), Zoho (`zoho`), the share of its
 * concurrency (`concurrency`), each kind (`kinds`), the functions (`functions`), the dashboard and
 * alarms (`monitoring`). Every prop has its default; infra/README.md lists them.
 */
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Runtime } from 'aws-cdk-lib/aws-lambda';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Kind } from '#lib/kinds.ts';
import type { DataCentre } from '#zoho/hosts.ts';
import type { BucketLifecycleProps } from './bucket.ts';
import type { ConcurrencySplit, SlotFloors } from './concurrency.ts';

export type { BucketLifecycleProps };

export interface S3ToZohoProps {
  /** The bucket watched, how its events arrive, where results go. @default see S3ToZohoSourceProps */
  readonly source?: S3ToZohoSourceProps | undefined;
  /** The Zoho org. @default see S3ToZohoZohoProps */
  readonly zoho?: S3ToZohoZohoProps | undefined;
  /** How the org's concurrency limit is shared. @default see S3ToZohoConcurrencyProps */
  readonly concurrency?: S3ToZohoConcurrencyProps | undefined;
  /** Each kind's settings, by kind (functions/lib/kinds.ts). @default each kind's record */
  readonly kinds?: { readonly [K in Kind]?: S3ToZohoKindProps | undefined } | undefined;
  /** What every function gets. @default see S3ToZohoFunctionProps */
  readonly functions?: S3ToZohoFunctionProps | undefined;
  /** The metrics, dashboard and alarms. @default see S3ToZohoMonitoringProps */
  readonly monitoring?: S3ToZohoMonitoringProps | undefined;
  /**
   * What happens to the data (new bucket, access-log bucket, tables, secret) when the stack goes.
   * With DESTROY the buckets the construct created are emptied first (every version), so the
   * deletion does not fail on a non-empty versioned bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
}

export interface S3ToZohoSourceProps {
  /**
   * An existing bucket (`Bucket.fromBucketName`/`fromBucketArn`). Its notifications are added
   * through CDK's notifications custom resource, which keeps the notifications it did not create.
   * @default a new bucket: versioned, encrypted, SSL only, public access blocked, access logs
   */
  readonly bucket?: IBucket | undefined;
  /**
   * The KMS key of an SSE-KMS bucket: the functions get kms:Decrypt on it (and bulk-write
   * kms:GenerateDataKey to write its results). For a new bucket, it becomes the bucket's key.
   * @default none (SSE-S3)
   */
  readonly bucketKey?: IKey | undefined;
  /**
   * Where a new bucket writes its server access logs (ignored with `bucket`).
   * @default a new access-log bucket
   */
  readonly serverAccessLogsBucket?: IBucket | undefined;
  /** Lifecycle of a new bucket's objects (ignored with `bucket`). @default see BucketLifecycleProps */
  readonly lifecycle?: BucketLifecycleProps | undefined;
  /**
   * Feed the queues through EventBridge instead of S3 notifications: the bucket sends its events to
   * EventBridge and one rule per kind, with the same prefix and suffix filters, puts them on its
   * queue. For shared buckets whose notification configuration another consumer already uses
   * ("Configurations overlap" fails the deploy otherwise).
   * @default false
   */
  readonly eventBridge?: boolean | undefined;
  /**
   * Where bulk-write writes its per-row results (RESULTS_PREFIX). Must not lie under a watched
   * prefix, nor hold one.
   * @default 'bulk-write-results/'
   */
  readonly resultsPrefix?: string | undefined;
}

export interface S3ToZohoZohoProps {
  /**
   * The Zoho data centre of the org (ZOHO_DC): a key of HOSTS in functions/lib/zoho/hosts.ts.
   * @default 'us'
   */
  readonly dataCentre?: DataCentre | undefined;
  /**
   * The secret holding `{client_id, client_secret, refresh_token}`. Only its ARN reaches the
   * functions (ZOHO_SECRET_ARN); they read it at cold start.
   * @default a new secret with a placeholder value, filled by `npm run auth`
   */
  readonly secret?: ISecret | undefined;
  /**
   * The customer-managed KMS key of an imported `secret`: the functions get `kms:Decrypt` on it
   * (Secrets Manager decrypts with the caller's permissions).
   * @default none (the secret uses the AWS-managed key)
   */
  readonly secretKey?: IKey | undefined;
}

export interface S3ToZohoConcurrencyProps {
  /**
   * Concurrent Zoho API calls this deployment may make (the org's limit: 10 on Standard), 1 to 100.
   * The functions share it through fleet-wide slots in the token table (ZOHO_CONCURRENCY_BUDGET):
   * the calls in flight across the fleet never exceed it, and one busy kind may use all of it.
   * @default 10
   */
  readonly budget?: number | undefined;
  /**
   * Slots of the budget each kind takes first, so a flood of one kind never starves another
   * (ZOHO_SLOT_FLOORS); the rest is shared.
   * @default each kind record's slotFloor: 1 each
   */
  readonly slotFloors?: SlotFloors | undefined;
  /**
   * Zoho calls one invocation may have open at once (ZOHO_MAX_IN_FLIGHT).
   * @default 1
   */
  readonly maxInFlightPerInvocation?: number | undefined;
  /**
   * Each kind's event source maximum concurrency (2 to 1000). The fleet slots keep the calls within
   * the budget whatever it is; fewer than budget ÷ maxInFlightPerInvocation leaves slots idle.
   * @default 2 × budget ÷ maxInFlightPerInvocation for every kind (20 each for a budget of 10)
   */
  readonly split?: ConcurrencySplit | undefined;
  /**
   * A fleet-wide cap of Zoho calls per minute. Each invocation gets
   * floor(cap / Σ maximum concurrencies), at least 1, as ZOHO_CALLS_PER_MINUTE.
   * @default no cap
   */
  readonly callsPerMinute?: number | undefined;
}

/** Settings of one kind of push. Every one has a default, its kind record's (functions/lib/kinds.ts). */
export interface S3ToZohoKindProps {
  /**
   * The key prefix whose new objects this kind pushes. The routes (ROUTES) must use the same prefix.
   * @default 'attachments/', 'photos/', 'bulk-write/'
   */
  readonly prefix?: string | undefined;
  /**
   * Only keys ending with this (case-sensitive, S3 filter rules) are pushed; others under the
   * prefix get no event at all, so nothing says they were left alone. The bulk-write function takes
   * .zip and .csv in any case and refuses anything else with a reason (NOT_A_ZIP).
   * @default none: every new object under the prefix
   */
  readonly suffix?: string | undefined;
  /**
   * The function's timeout, for a whole batch. The queue's visibility timeout is 6 × this.
   * @default 5 minutes for attachments (≤ 100 MB each) and bulk-write, 2 minutes for photos (≤ 10 MB)
   */
  readonly timeout?: Duration | undefined;
  /** @default 512 (MB) */
  readonly memorySize?: number | undefined;
  /**
   * Messages handed to one invocation (1 to 10).
   * @default 5
   */
  readonly batchSize?: number | undefined;
  /**
   * Receives before a message goes to its dead-letter queue (1 to 1000).
   * @default 5
   */
  readonly maxReceiveCount?: number | undefined;
  /**
   * The TypeScript entry bundled into the function (export `handler`); must lie under the repository.
   * @default functions/<attachments|photos|bulk-write>/index.ts
   */
  readonly entry?: string | undefined;
}

export interface S3ToZohoFunctionProps {
  /**
   * Extra environment for every function (ZOHO_API_VERSION, ROUTES, ATTACHMENT_MAX_BYTES,
   * PHOTO_RESTRICT_TRIGGERS, BULK_POLL_SECONDS, POWERTOOLS_LOG_LEVEL…), checked at synth by the
   * functions' own loadConfig. Never secrets: a name that looks like one is refused, and so is a
   * name the construct sets from its props (ZOHO_DC, RESULTS_PREFIX…).
   * @default none
   */
  readonly environment?: Record<string, string> | undefined;
  /**
   * The Lambda runtime.
   * @default Runtime.NODEJS_24_X (the code is bundled for node22 and runs on it too)
   */
  readonly runtime?: Runtime | undefined;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays | undefined;
}

export interface S3ToZohoMonitoringProps {
  /**
   * The CloudWatch namespace of the pipeline's metrics (POWERTOOLS_METRICS_NAMESPACE).
   * @default 's3-to-zoho'
   */
  readonly metricsNamespace?: string | undefined;
  /** @default CloudFormation's generated name */
  readonly dashboardName?: string | undefined;
  /**
   * An email address subscribed to the alarm topic (it must confirm the subscription).
   * @default no subscription
   */
  readonly alarmEmail?: string | undefined;
  /**
   * Alarm when more than this share of a kind's finished files failed in 5 minutes.
   * @default 0.2
   */
  readonly failureRateThreshold?: number | undefined;
  /**
   * Alarm when Zoho throttled more than this many calls in 5 minutes.
   * @default 5
   */
  readonly throttleAlarmThreshold?: number | undefined;
  /**
   * Alarm when a main queue's oldest message is older than this: the functions are not draining it.
   * @default 3 hours (a message's retries take at most 5 receives × 30 min)
   */
  readonly oldestMessageAlarmAge?: Duration | undefined;
}
