/**
 * S3ToZoho: files dropped in an S3 bucket land in Zoho CRM. Per kind (attachments, photos,
 * bulk-write ZIPs): an S3 notification filtered by prefix, an SQS queue with its dead-letter
 * queue, and a Lambda that pushes the objects; shared by all: the Secrets Manager secret with the
 * Zoho OAuth client, the DynamoDB tables (shared access token, idempotency ledger, bulk imports), a dashboard
 * and alarms on an SNS topic.
 *
 * The fleet's Zoho calls in flight never pass the org's concurrency limit: every call holds one of
 * the budget's slots in the token table (functions/lib/zoho/fleet/, concurrency.ts), so
 * the fleet cannot trip Zoho's "too many concurrent calls" while one busy kind may use them all.
 */
import { Duration, Names, RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type IRule, type IRuleTarget, Rule, type RuleTargetConfig } from 'aws-cdk-lib/aws-events';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Architecture, RecursiveLoop, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type BucketNotificationDestinationConfig,
  BucketNotificationDestinationType,
  EventType,
  type IBucket,
  type IBucketNotificationDestination,
  type LifecycleRule,
  type NotificationKeyFilter,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { type IQueue, Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';
import { DEFAULT_PREFIXES, watchedPrefixes } from '#lib/routing/route.ts';
import { encodeS3EventKey } from '#lib/s3/event.ts';
import { type DataCentre, isDataCentre } from '#zoho/hosts.ts';
import { defaultEntry, LAMBDA_ESBUILD, LAMBDA_ESBUILD_ARGS, REPO_ROOT } from './bundling.ts';
import {
  type ConcurrencySplit,
  callsPerMinutePerInvocation,
  DEFAULT_SLOT_FLOORS,
  DEFAULT_ZOHO_CONCURRENCY_BUDGET,
  KINDS,
  type Kind,
  type SlotFloors,
  splitConcurrencyBudget,
} from './concurrency.ts';
import { checkFunctionConfigs, DEPLOY_TIME_PLACEHOLDERS, refuseManagedNames } from './function-config.ts';
import { createMonitoring, type MonitoredKind, serviceName } from './monitoring.ts';
import { DEFAULT_TIMEOUT_SECONDS } from './timeouts.ts';

/** Settings of one kind of push. Every one has a default. */
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
   * The TypeScript entry bundled into the function (export `handler`); must lie under the repository.
   * @default functions/<attachments|photos|bulk-write>/index.ts
   */
  readonly entry?: string | undefined;
}

export interface S3ToZohoProps {
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
  /**
   * The Zoho data centre of the org (ZOHO_DC): us, eu, uk, in, au, jp, ca, sa, cn.
   * @default 'us'
   */
  readonly zohoDataCentre?: DataCentre | undefined;
  /**
   * The secret holding `{client_id, client_secret, refresh_token}`. Only its ARN reaches the
   * functions (ZOHO_SECRET_ARN); they read it at cold start.
   * @default a new secret with a placeholder value, filled by `npm run auth`
   */
  readonly zohoSecret?: ISecret | undefined;
  /**
   * Concurrent Zoho API calls this deployment may make (the org's limit: 10 on Standard), 1 to 100.
   * The functions share it through fleet-wide slots in the token table (ZOHO_CONCURRENCY_BUDGET):
   * the calls in flight across the fleet never exceed it, and one busy kind may use all of it.
   * @default 10
   */
  readonly zohoConcurrencyBudget?: number | undefined;
  /**
   * Slots of the budget each kind takes first, so a flood of one kind never starves another
   * (ZOHO_SLOT_FLOORS); the rest is shared.
   * @default 1 each
   */
  readonly zohoSlotFloors?: SlotFloors | undefined;
  /**
   * Zoho calls one invocation may have open at once (ZOHO_MAX_IN_FLIGHT).
   * @default 1
   */
  readonly zohoMaxInFlightPerInvocation?: number | undefined;
  /**
   * Each kind's event source maximum concurrency (2 to 1000). The fleet slots keep the calls within
   * the budget whatever it is; fewer than budget ÷ zohoMaxInFlightPerInvocation leaves slots idle.
   * @default budget ÷ zohoMaxInFlightPerInvocation for every kind (10 each for a budget of 10)
   */
  readonly concurrencySplit?: ConcurrencySplit | undefined;
  /**
   * A fleet-wide cap of Zoho calls per minute. Each invocation gets
   * floor(cap / Σ maximum concurrencies), at least 1, as ZOHO_CALLS_PER_MINUTE.
   * @default no cap
   */
  readonly zohoCallsPerMinute?: number | undefined;
  /**
   * Receives before a message goes to its dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number | undefined;
  /**
   * Where bulk-write writes its per-row results (RESULTS_PREFIX). Must not lie
   * under a watched prefix.
   * @default 'bulk-write-results/'
   */
  readonly resultsPrefix?: string | undefined;
  /** @default see S3ToZohoKindProps */
  readonly attachments?: S3ToZohoKindProps | undefined;
  /** @default see S3ToZohoKindProps */
  readonly photos?: S3ToZohoKindProps | undefined;
  /** @default see S3ToZohoKindProps */
  readonly bulkWrite?: S3ToZohoKindProps | undefined;
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
  /**
   * The CloudWatch namespace of the pipeline's metrics (POWERTOOLS_METRICS_NAMESPACE).
   * @default 's3-to-zoho'
   */
  readonly metricsNamespace?: string | undefined;
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
  /** @default CloudFormation's generated name */
  readonly dashboardName?: string | undefined;
  /**
   * What happens to the data (new bucket, access-log bucket, tables, secret) when the stack goes.
   * With DESTROY the buckets the construct created are emptied first (every version), so the
   * deletion does not fail on a non-empty versioned bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy | undefined;
  /**
   * The customer-managed KMS key of an imported `zohoSecret`: the functions get `kms:Decrypt` on it
   * (Secrets Manager decrypts with the caller's permissions).
   * @default none (the secret uses the AWS-managed key)
   */
  readonly zohoSecretKey?: IKey | undefined;
  /**
   * Alarm when a main queue's oldest message is older than this: the functions are not draining it.
   * @default 3 hours (a message's retries take at most 5 receives × 30 min)
   */
  readonly oldestMessageAlarmAge?: Duration | undefined;
  /** Lifecycle of a new bucket's objects. @default see BucketLifecycleProps */
  readonly lifecycle?: BucketLifecycleProps | undefined;
  /**
   * Feed the queues through EventBridge instead of S3 notifications: the bucket sends its events to
   * EventBridge and one rule per kind, with the same prefix and suffix filters, puts them on its
   * queue. For shared buckets whose notification configuration another consumer already uses
   * ("Configurations overlap" fails the deploy otherwise).
   * @default false
   */
  readonly eventBridge?: boolean | undefined;
}

/** Lifecycle rules of the bucket the construct creates (S3 lifecycle filters by prefix and tag). */
export interface BucketLifecycleProps {
  /**
   * Versions replaced or deleted expire this long after (the bucket is versioned).
   * @default Duration.days(30)
   */
  readonly noncurrentVersionExpiration?: Duration | undefined;
  /**
   * Opt-in: objects tagged `zoho-status=done` expire this long after they were written.
   * @default never
   */
  readonly expireDoneAfter?: Duration | undefined;
  /**
   * Opt-in: objects tagged `zoho-status=done` move to `doneStorageClass` this long after they were written.
   * @default never
   */
  readonly transitionDoneAfter?: Duration | undefined;
  /** @default StorageClass.GLACIER_INSTANT_RETRIEVAL */
  readonly doneStorageClass?: StorageClass | undefined;
}

const DEFAULT_MAX_RECEIVE_COUNT = 5;
const DEFAULT_BATCH_SIZE = 5;
const DEFAULT_MEMORY_MB = 512;
/** AWS: a queue's visibility timeout should be at least 6 × the function timeout for SQS event sources. */
const VISIBILITY_FACTOR = 6;
/** SQS's longest: a long outage must not delete messages (expired ones never reach the DLQ). */
const QUEUE_RETENTION = Duration.days(14);
const DEFAULT_OLDEST_MESSAGE_ALARM_AGE = Duration.hours(3);
const DEFAULT_NONCURRENT_EXPIRATION = Duration.days(30);
const SECRET_ENV_NAME = /secret(?!_arn$)|refresh_token|client_id|password/i;

/** What S3ToZoho built for one kind. */
export interface S3ToZohoKind {
  readonly kind: Kind;
  readonly prefix: string;
  readonly function: NodejsFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  /** The event source's maximum concurrency. */
  readonly maxConcurrency: number;
  readonly timeout: Duration;
}

/** What CloudFormation resolves at deploy time and each function's environment names. */
interface DeployTimeNames {
  secretArn: string;
  tokenTable: string;
  idempotencyTable: string;
  importsTable: string;
  queueUrl: string;
}

/** Stand-ins for the deploy-time names, so the environments are checked at synth. */
const PLACEHOLDER_NAMES: DeployTimeNames = {
  secretArn: DEPLOY_TIME_PLACEHOLDERS.secretArn,
  tokenTable: DEPLOY_TIME_PLACEHOLDERS.tableName,
  idempotencyTable: DEPLOY_TIME_PLACEHOLDERS.tableName,
  importsTable: DEPLOY_TIME_PLACEHOLDERS.tableName,
  queueUrl: DEPLOY_TIME_PLACEHOLDERS.queueUrl,
};

export class S3ToZoho extends Construct {
  /** The bucket watched: the new one, or the one given. */
  readonly bucket: IBucket;
  /** Conditional: the bucket that receives a new bucket's server access logs. */
  readonly accessLogsBucket?: IBucket;
  /** The Zoho OAuth client secret (its ARN only is in the functions' environment). */
  readonly secret: ISecret;
  /** The access token shared by the fleet: partition key `pk`. */
  readonly tokenTable: Table;
  /** The Powertools idempotency ledger: partition key `id`, TTL `expiration`. */
  readonly idempotencyTable: Table;
  /** Bulk imports, one item each (partition key `id`), and the alarm for expired ones. */
  /** One item per bulk import (functions/lib/pipeline/bulk/store.ts), written only conditionally. */
  readonly importsTable: Table;
  /** Per kind: function, queue, dead-letter queue, concurrency. */
  readonly kinds: Record<Kind, S3ToZohoKind>;
  /** Maximum concurrent invocations per kind; Σ × zohoMaxInFlightPerInvocation ≤ the budget. */
  readonly concurrency: ConcurrencySplit;
  /** Alarms publish here (encrypted with `alarmTopicKey`). */
  readonly alarmTopic: Topic;
  readonly alarmTopicKey: Key;
  readonly alarms: Alarm[];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: S3ToZohoProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const dataCentre = props.zohoDataCentre ?? 'us';
    if (!isDataCentre(dataCentre))
      throw new Error(`zohoDataCentre must be one of the Zoho DCs, got '${dataCentre}'`);
    const maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
      throw new Error(`maxReceiveCount must be an integer from 1 to 1000, got ${maxReceiveCount}`);
    }
    const inFlight = props.zohoMaxInFlightPerInvocation ?? 1;
    const budget = props.zohoConcurrencyBudget ?? DEFAULT_ZOHO_CONCURRENCY_BUDGET;
    const floors = props.zohoSlotFloors ?? DEFAULT_SLOT_FLOORS;
    this.concurrency = splitConcurrencyBudget({
      budget,
      inFlightPerInvocation: inFlight,
      split: props.concurrencySplit,
      floors,
    });
    const callsPerMinute = callsPerMinutePerInvocation(props.zohoCallsPerMinute, this.concurrency);
    const kindProps: Record<Kind, S3ToZohoKindProps> = {
      attachment: props.attachments ?? {},
      photo: props.photos ?? {},
      'bulk-write': props.bulkWrite ?? {},
    };
    const prefixes = Object.fromEntries(
      KINDS.map((kind) => [kind, kindProps[kind].prefix ?? DEFAULT_PREFIXES[kind]]),
    ) as Record<Kind, string>;
    const resultsPrefix = props.resultsPrefix ?? DEFAULT_RESULTS_PREFIX;
    checkPrefixes(prefixes, resultsPrefix);
    checkEnvironment(props.environment ?? {});
    const namespace = props.metricsNamespace ?? 's3-to-zoho';
    /** Each function's environment; the values CloudFormation resolves are passed in. */
    const environmentOf = (kind: Kind, deployTime: DeployTimeNames): Record<string, string> => ({
      ...props.environment,
      ZOHO_DC: dataCentre,
      ZOHO_SECRET_ARN: deployTime.secretArn,
      ZOHO_MAX_IN_FLIGHT: String(inFlight),
      ZOHO_CONCURRENCY_BUDGET: String(budget),
      ZOHO_SLOT_FLOORS: KINDS.map((k) => `${k}=${floors[k]}`).join(','),
      ...(callsPerMinute ? { ZOHO_CALLS_PER_MINUTE: String(callsPerMinute) } : {}),
      TOKEN_TABLE: deployTime.tokenTable,
      IDEMPOTENCY_TABLE: deployTime.idempotencyTable,
      POWERTOOLS_METRICS_NAMESPACE: namespace,
      POWERTOOLS_SERVICE_NAME: serviceName(kind),
      NODE_OPTIONS: '--enable-source-maps',
      ...(kind === 'bulk-write'
        ? {
            FOLLOW_UP_QUEUE_URL: deployTime.queueUrl,
            RESULTS_PREFIX: resultsPrefix,
            IMPORTS_TABLE: deployTime.importsTable,
          }
        : {}),
    });
    // Before anything is built (or bundled): a setting the functions would refuse fails here.
    checkFunctionConfigs(
      Object.fromEntries(KINDS.map((kind) => [kind, environmentOf(kind, PLACEHOLDER_NAMES)])) as Record<
        Kind,
        Record<string, string>
      >,
      prefixes,
    );

    const created = props.bucket ? undefined : this.createBucket(props, removalPolicy);
    this.bucket = props.bucket ?? asInterface<IBucket>(created?.bucket);
    if (created?.accessLogsBucket) this.accessLogsBucket = created.accessLogsBucket;
    if (props.eventBridge) this.bucket.enableEventBridgeNotification();
    this.secret = props.zohoSecret ?? asInterface<ISecret>(this.createSecret(removalPolicy));
    this.tokenTable = this.createTable('TokenTable', 'pk', removalPolicy);
    this.idempotencyTable = this.createTable('IdempotencyTable', 'id', removalPolicy, 'expiration');
    this.importsTable = this.createTable('BulkImportsTable', 'id', removalPolicy);

    const deployTime = {
      secretArn: this.secret.secretArn,
      tokenTable: this.tokenTable.tableName,
      idempotencyTable: this.idempotencyTable.tableName,
      importsTable: this.importsTable.tableName,
    };

    const built = {} as Record<Kind, S3ToZohoKind>;
    for (const kind of KINDS) {
      built[kind] = this.createKind(kind, {
        ...kindProps[kind],
        prefix: prefixes[kind],
        maxConcurrency: this.concurrency[kind],
        maxReceiveCount,
        resultsPrefix,
        environment: (queueUrl: string) => environmentOf(kind, { ...deployTime, queueUrl }),
        runtime: props.runtime ?? Runtime.NODEJS_24_X,
        logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
        bucketKey: props.bucketKey,
        secretKey: props.zohoSecretKey,
        eventBridge: props.eventBridge ?? false,
      });
    }
    this.kinds = built;

    ({ key: this.alarmTopicKey, topic: this.alarmTopic } = this.createAlarmTopic(props.alarmEmail));

    const monitoring = createMonitoring(this, {
      namespace,
      topic: this.alarmTopic,
      failureRateThreshold: props.failureRateThreshold ?? 0.2,
      throttleThreshold: props.throttleAlarmThreshold ?? 5,
      dashboardName: props.dashboardName,
      oldestMessageAlarmAge: props.oldestMessageAlarmAge ?? DEFAULT_OLDEST_MESSAGE_ALARM_AGE,
      kinds: Object.fromEntries(
        KINDS.map((kind): [Kind, MonitoredKind] => [kind, { ...built[kind], fn: built[kind].function }]),
      ) as Record<Kind, MonitoredKind>,
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;

    acknowledgeNotificationsHandler(Stack.of(this));
  }

  /**
   * A rule that puts the bucket's Object Created events under the kind's prefix (and suffix) on its
   * queue. EventBridge matches the key as the event carries it, URL-encoded, so the filters are too.
   */
  private routeThroughEventBridge(
    id: string,
    queue: Queue,
    filter: { prefix: string; suffix: string | undefined },
  ) {
    const prefix = encodeS3EventKey(filter.prefix);
    const key = filter.suffix
      ? [{ wildcard: `${escapeWildcard(prefix)}*${escapeWildcard(encodeS3EventKey(filter.suffix))}` }]
      : [{ prefix }];
    new Rule(this, `${id}Rule`, {
      description: `s3-to-zoho: new objects under ${filter.prefix} to the ${id} queue`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [this.bucket.bucketName] }, object: { key } },
      },
      targets: [ownAccountQueueTarget(queue)],
    });
  }

  /** The alarms' topic, encrypted with a key CloudWatch may use (the AWS-managed SNS key does not let it publish). */
  private createAlarmTopic(alarmEmail: string | undefined): { key: Key; topic: Topic } {
    const key = new Key(this, 'AlarmTopicKey', {
      description: 's3-to-zoho: encrypts the alarm topic; CloudWatch may use it to publish alarms',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.grant(new ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    const topic = new Topic(this, 'AlarmTopic', {
      displayName: 's3-to-zoho alarms',
      masterKey: key,
      enforceSSL: true,
    });
    if (alarmEmail) topic.addSubscription(new EmailSubscription(alarmEmail));
    return { key, topic };
  }

  private createBucket(props: S3ToZohoProps, removalPolicy: RemovalPolicy) {
    const accessLogsBucket = props.serverAccessLogsBucket ?? this.createAccessLogsBucket(removalPolicy);
    const bucket = new Bucket(this, 'Bucket', {
      ...(props.bucketKey
        ? { encryption: BucketEncryption.KMS, encryptionKey: props.bucketKey, bucketKeyEnabled: true }
        : { encryption: BucketEncryption.S3_MANAGED }),
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      versioned: true,
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: 'pipeline-bucket/',
      lifecycleRules: lifecycleRules(props.lifecycle ?? {}),
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    return { bucket, accessLogsBucket };
  }

  private createAccessLogsBucket(removalPolicy: RemovalPolicy): IBucket {
    const bucket = new Bucket(this, 'AccessLogsBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      removalPolicy,
      autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
    });
    return asInterface<IBucket>(bucket);
  }

  private createSecret(removalPolicy: RemovalPolicy): Secret {
    const secret = new Secret(this, 'ZohoOAuthClient', {
      description:
        's3-to-zoho: the Zoho OAuth client as JSON {client_id, client_secret, refresh_token}; fill it with npm run auth',
      // A placeholder, not a credential. Keep it unchanged: CloudFormation rewrites the secret
      // (and erases what `npm run auth` stored) whenever this template value changes.
      secretStringValue: SecretValue.unsafePlainText(
        JSON.stringify({
          placeholder: 'run npm run auth to store client_id, client_secret and refresh_token',
        }),
      ),
      removalPolicy,
    });
    acknowledge(secret, [
      [
        'AwsSolutions-SMG4',
        'A Zoho refresh token cannot be rotated by a Lambda: a new one needs a person to grant consent in ' +
          'Zoho, which the npm run auth command does and then stores here.',
      ],
    ]);
    return secret;
  }

  private createTable(id: string, partitionKey: string, removalPolicy: RemovalPolicy, ttl?: string): Table {
    return new Table(this, id, {
      partitionKey: { name: partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy,
      ...(ttl ? { timeToLiveAttribute: ttl } : {}),
    });
  }

  private createKind(
    kind: Kind,
    options: S3ToZohoKindProps & {
      prefix: string;
      maxConcurrency: number;
      maxReceiveCount: number;
      resultsPrefix: string;
      /** The function's environment, given its queue's URL. */
      environment: (queueUrl: string) => Record<string, string>;
      runtime: Runtime;
      logRetention: RetentionDays;
      bucketKey: IKey | undefined;
      secretKey: IKey | undefined;
      eventBridge: boolean;
    },
  ): S3ToZohoKind {
    const id = constructId(kind);
    const timeout = options.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS[kind]);
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
      throw new Error(`${kind} batchSize must be an integer from 1 to 10, got ${batchSize}`);
    }
    const isBulk = kind === 'bulk-write';

    const deadLetterQueue = new Queue(this, `${id}DeadLetterQueue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
    });
    const queue = new Queue(this, `${id}Queue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: QUEUE_RETENTION,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
    });

    const logGroup = new LogGroup(this, `${id}Logs`, { retention: options.logRetention });
    const role = new Role(this, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `s3-to-zoho ${kind} function: its log group, its prefix, the Zoho secret and tables`,
    });
    logGroup.grantWrite(role);

    const fn = new NodejsFunction(this, `${id}Function`, {
      description: `s3-to-zoho: pushes s3://…/${options.prefix}* to Zoho CRM (${kind})`,
      entry: options.entry ?? defaultEntry(kind),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: options.runtime,
      architecture: Architecture.ARM_64,
      memorySize: options.memorySize ?? DEFAULT_MEMORY_MB,
      timeout,
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      // bulk-write follows its jobs with delayed messages on its own queue, a loop by design
      // that Lambda would otherwise stop after 16 rounds.
      ...(isBulk ? { recursiveLoop: RecursiveLoop.ALLOW } : {}),
      environment: options.environment(queue.queueUrl),
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_ESBUILD.target,
        minify: LAMBDA_ESBUILD.minify,
        keepNames: LAMBDA_ESBUILD.keepNames,
        sourceMap: LAMBDA_ESBUILD.sourcemap,
        sourcesContent: LAMBDA_ESBUILD.sourcesContent,
        mainFields: [...LAMBDA_ESBUILD.mainFields],
        banner: LAMBDA_ESBUILD.banner,
        externalModules: [...LAMBDA_ESBUILD.external],
        esbuildArgs: LAMBDA_ESBUILD_ARGS,
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });

    fn.addEventSource(
      new SqsEventSource(queue, {
        batchSize,
        maxConcurrency: options.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // The kind's own prefix, then those it watches besides (file-upload fields: `fields/`).
    for (const [index, prefix] of watchedPrefixes(kind, options.prefix).entries()) {
      const filter = { prefix, suffix: options.suffix };
      if (options.eventBridge)
        this.routeThroughEventBridge(index === 0 ? id : `${id}Extra${index}`, queue, filter);
      else {
        this.bucket.addEventNotification(EventType.OBJECT_CREATED, ownAccountQueueDestination(queue), {
          prefix: filter.prefix,
          ...(filter.suffix ? { suffix: filter.suffix } : {}),
        } satisfies NotificationKeyFilter);
      }
    }

    this.grantAccess(role, kind, options, queue);
    return {
      kind,
      prefix: options.prefix,
      function: fn,
      queue,
      deadLetterQueue,
      maxConcurrency: options.maxConcurrency,
      timeout,
    };
  }

  /** Explicit statements: grantRead/grantWrite would hand out s3:GetObject* and s3:List* on the whole bucket. */
  private grantAccess(
    role: Role,
    kind: Kind,
    options: {
      prefix: string;
      resultsPrefix: string;
      bucketKey: IKey | undefined;
      secretKey: IKey | undefined;
    },
    queue: Queue,
  ) {
    const objects = watchedPrefixes(kind, options.prefix).map((prefix) =>
      this.bucket.arnForObjects(`${prefix}*`),
    );
    const results = this.bucket.arnForObjects(`${options.resultsPrefix}*`);
    const isBulk = kind === 'bulk-write';
    const statements = [
      new PolicyStatement({
        sid: 'ReadOwnPrefix',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: objects,
      }),
      new PolicyStatement({
        sid: 'TagOwnPrefix',
        actions: [
          's3:GetObjectTagging',
          's3:GetObjectVersionTagging',
          's3:PutObjectTagging',
          's3:PutObjectVersionTagging',
        ],
        resources: objects,
      }),
      // Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key, and "the object is
      // gone" could not be told from "access denied". It lists names only.
      new PolicyStatement({
        sid: 'TellMissingFromDenied',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
      new PolicyStatement({
        sid: 'ZohoTokenSlotsAndIdempotency',
        actions: [
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
        ],
        resources: [this.tokenTable.tableArn, this.idempotencyTable.tableArn],
      }),
    ];
    if (isBulk) {
      statements.push(
        new PolicyStatement({
          sid: 'WriteBulkResults',
          actions: ['s3:PutObject', 's3:GetObject'],
          resources: [results],
        }),
        new PolicyStatement({
          sid: 'BulkImportRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
          resources: [this.importsTable.tableArn],
        }),
        new PolicyStatement({
          sid: 'FollowUpOwnJobs',
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
        }),
      );
    }
    for (const statement of statements) role.addToPrincipalPolicy(statement);
    this.secret.grantRead(role);
    options.secretKey?.grant(role, 'kms:Decrypt');
    if (options.bucketKey) {
      options.bucketKey.grant(role, ...(isBulk ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt']));
    }

    const stack = Stack.of(this);
    const prefixed = [...objects, ...(isBulk ? [results] : [])];
    acknowledge(role, [
      ...prefixed.map((arn): [string, string] => [
        `AwsSolutions-IAM5[Resource::${flattenForNag(stack.resolve(arn))}]`,
        `The ${kind} function reads and tags only objects under its own key prefix; the trailing ` +
          'wildcard is how IAM names every object under a prefix, and no other keys are reachable.',
      ]),
      [
        'AwsSolutions-IAM5[Resource::*]',
        'AWS X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions, so ' +
          'active tracing requires the wildcard resource that Lambda itself documents.',
      ],
    ]);
  }
}

/**
 * No two watched prefixes overlap (S3 refuses overlapping notifications; rules would feed two
 * queues) and the results prefix overlaps none: results written there would come back as new files.
 */
function checkPrefixes(prefixes: Record<Kind, string>, resultsPrefix: string) {
  for (const kind of KINDS) {
    if (!prefixes[kind])
      throw new Error(`The ${kind} prefix must not be empty: it would watch the whole bucket`);
  }
  const watched = KINDS.flatMap((kind) =>
    watchedPrefixes(kind, prefixes[kind]).map((prefix) => ({ kind, prefix })),
  );
  const overlap = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);
  for (const [index, { kind, prefix }] of watched.entries()) {
    if (overlap(resultsPrefix, prefix)) {
      throw new Error(
        `resultsPrefix '${resultsPrefix}' overlaps '${prefix}', watched by the ${kind} function: results would be pushed as new files`,
      );
    }
    const clash = watched.slice(index + 1).find((other) => overlap(prefix, other.prefix));
    if (clash) {
      throw new Error(
        `The ${kind} function's prefix '${prefix}' overlaps the ${clash.kind} function's prefix '${clash.prefix}': S3 refuses overlapping notifications`,
      );
    }
  }
}

function checkEnvironment(environment: Record<string, string>) {
  refuseManagedNames(environment);
  for (const name of Object.keys(environment)) {
    if (SECRET_ENV_NAME.test(name)) {
      throw new Error(
        `environment.${name} looks like a credential: the Zoho OAuth client lives in Secrets Manager (zohoSecret), never in the environment`,
      );
    }
  }
}

/**
 * aws-cdk-lib's classes declare `x: T | undefined` where their interfaces say `x?: T`, which
 * exactOptionalPropertyTypes refuses to match; the object is the interface all the same.
 */
function asInterface<T>(construct: unknown): T {
  return construct as T;
}

function constructId(kind: Kind): string {
  return kind
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** A cdk-nag acknowledgment: the rule (or rule[finding]) and why it does not apply here. */
function acknowledge(scope: IConstruct, rules: [id: string, reason: string][]) {
  Validations.of(scope).acknowledge(...rules.map(([id, reason]) => ({ id, reason })));
}

/**
 * The notifications custom resource CDK adds to the stack (one per stack, shared): its role and
 * runtime are CDK's, not ours.
 */
function acknowledgeNotificationsHandler(stack: Stack) {
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

/** The bucket's lifecycle: old versions expire; objects pushed for good may expire or move (opt-in). */
function lifecycleRules(props: BucketLifecycleProps): LifecycleRule[] {
  const rules: LifecycleRule[] = [
    {
      id: 'ExpireNoncurrentVersions',
      noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? DEFAULT_NONCURRENT_EXPIRATION,
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    },
  ];
  if (props.expireDoneAfter || props.transitionDoneAfter) {
    rules.push({
      id: 'PushedObjects',
      tagFilters: { 'zoho-status': 'done' },
      ...(props.expireDoneAfter ? { expiration: props.expireDoneAfter } : {}),
      ...(props.transitionDoneAfter
        ? {
            transitions: [
              {
                storageClass: props.doneStorageClass ?? StorageClass.GLACIER_INSTANT_RETRIEVAL,
                transitionAfter: props.transitionDoneAfter,
              },
            ],
          }
        : {}),
    });
  }
  return rules;
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
function ownAccountQueueDestination(queue: IQueue): IBucketNotificationDestination {
  return {
    bind(_scope: Construct, bucket: IBucket): BucketNotificationDestinationConfig {
      allowToSend(queue, {
        sid: 'S3SendsObjectCreatedEvents',
        service: 's3.amazonaws.com',
        sourceArn: bucket.bucketArn,
        match: 'ArnLike',
      });
      return { arn: queue.queueArn, type: BucketNotificationDestinationType.QUEUE, dependencies: [queue] };
    },
  };
}

/** A queue as an EventBridge rule target, only for the rule in this account. */
function ownAccountQueueTarget(queue: IQueue): IRuleTarget {
  return {
    bind(rule: IRule): RuleTargetConfig {
      allowToSend(queue, {
        sid: `EventBridgeSends${Names.nodeUniqueId(rule.node).slice(-8)}`,
        service: 'events.amazonaws.com',
        sourceArn: rule.ruleArn,
        match: 'ArnEquals',
      });
      return { arn: queue.queueArn };
    },
  };
}
