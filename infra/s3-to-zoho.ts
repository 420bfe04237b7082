/**
 * S3ToZoho: files dropped in an S3 bucket land in Zoho CRM. It composes one KindPipeline per kind
 * (functions/lib/kinds.ts: attachments, photos, bulk-write ZIPs; kind-pipeline.ts: an S3
 * notification filtered by prefix, an SQS queue with its dead-letter queue, and a Lambda that
 * pushes the objects), and builds what they share: the bucket (bucket.ts) unless one is given, the
 * Secrets Manager secret with the Zoho OAuth client, the DynamoDB tables (shared access token,
 * idempotency ledger, bulk imports), a dashboard and alarms on an SNS topic (monitoring.ts).
 * Its props are in props.ts; cdk-nag acknowledgements in nag.ts; queue policies in queue-policies.ts.
 *
 * The fleet's Zoho calls in flight never pass the org's concurrency limit: every call holds one of
 * the budget's slots in the token table (functions/lib/zoho/fleet/, concurrency.ts), so
 * the fleet cannot trip Zoho's "too many concurrent calls" while one busy kind may use them all.
 */
import { Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_RESULTS_PREFIX, functionEnvironment } from '#lib/config.ts';
import {
  DEFAULT_PREFIXES,
  DEFAULT_SLOT_FLOORS,
  KINDS,
  type Kind,
  kindRecord,
  perKind,
  prefixesOverlap,
  watchedPrefixes,
} from '#lib/kinds.ts';
import { DEFAULT_METRICS_NAMESPACE } from '#lib/metric-names.ts';
import { isDataCentre } from '#zoho/hosts.ts';
import { asInterface, createPipelineBucket } from './bucket.ts';
import {
  type ConcurrencySplit,
  callsPerMinutePerInvocation,
  DEFAULT_ZOHO_CONCURRENCY_BUDGET,
  splitConcurrencyBudget,
} from './concurrency.ts';
import { checkFunctionConfigs, DEPLOY_TIME_PLACEHOLDERS, refuseManagedNames } from './function-config.ts';
import { KindPipeline, type SharedParts } from './kind-pipeline.ts';
import { createMonitoring } from './monitoring.ts';
import { acknowledgeNotificationsHandler, acknowledgeSecretRotation } from './nag.ts';
import type { S3ToZohoKindProps, S3ToZohoProps } from './props.ts';

export type { BucketLifecycleProps, S3ToZohoKindProps, S3ToZohoProps } from './props.ts';

const DEFAULT_OLDEST_MESSAGE_ALARM_AGE = Duration.hours(3);
const SECRET_ENV_NAME = /secret(?!_arn$)|refresh_token|client_id|password/i;

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
  /** Per kind: its pipeline (function, queue, dead-letter queue, role, concurrency). */
  readonly kinds: Record<Kind, KindPipeline>;
  /** Maximum concurrent invocations per kind; Σ × zohoMaxInFlightPerInvocation ≤ the budget. */
  readonly concurrency: ConcurrencySplit;
  /** Alarms publish here (encrypted with `alarmTopicKey`). */
  readonly alarmTopic: Topic;
  readonly alarmTopicKey: Key;
  readonly alarms: Alarm[];
  readonly dashboard: Dashboard;
  private readonly eventBridge: boolean;
  /** The buckets added with addSourceBucket, by the name that sets their rules and statements apart. */
  private readonly addedBuckets = new Set<string>();

  constructor(scope: Construct, id: string, props: S3ToZohoProps = {}) {
    super(scope, id);
    const settings = resolveSettings(props);
    this.concurrency = settings.concurrency;
    const { removalPolicy } = settings;

    const { source = {}, zoho = {}, functions = {}, monitoring = {} } = props;
    const created = source.bucket
      ? undefined
      : createPipelineBucket(this, {
          bucketKey: source.bucketKey,
          serverAccessLogsBucket: source.serverAccessLogsBucket,
          lifecycle: source.lifecycle ?? {},
          removalPolicy,
        });
    this.bucket = source.bucket ?? asInterface<IBucket>(created?.bucket);
    if (created?.accessLogsBucket) this.accessLogsBucket = created.accessLogsBucket;
    if (source.eventBridge) this.bucket.enableEventBridgeNotification();
    this.secret = zoho.secret ?? asInterface<ISecret>(this.createSecret(removalPolicy));
    this.tokenTable = this.createTable('TokenTable', 'pk', removalPolicy);
    this.idempotencyTable = this.createTable('IdempotencyTable', 'id', removalPolicy, 'expiration');
    this.importsTable = this.createTable('BulkImportsTable', 'id', removalPolicy);

    const shared: SharedParts = {
      bucket: this.bucket,
      bucketKey: source.bucketKey,
      secret: this.secret,
      secretKey: zoho.secretKey,
      tokenTable: this.tokenTable,
      idempotencyTable: this.idempotencyTable,
      importsTable: this.importsTable,
      resultsPrefix: settings.resultsPrefix,
      eventBridge: source.eventBridge ?? false,
      runtime: functions.runtime ?? Runtime.NODEJS_24_X,
      logRetention: functions.logRetention ?? RetentionDays.ONE_MONTH,
    };
    this.eventBridge = shared.eventBridge;
    this.kinds = perKind((kind) => this.createPipeline(kind, settings, shared));

    ({ key: this.alarmTopicKey, topic: this.alarmTopic } = this.createAlarmTopic(monitoring.alarmEmail));
    const built = createMonitoring(this, {
      namespace: settings.namespace,
      topic: this.alarmTopic,
      failureRateThreshold: monitoring.failureRateThreshold ?? 0.2,
      throttleThreshold: monitoring.throttleAlarmThreshold ?? 5,
      dashboardName: monitoring.dashboardName,
      oldestMessageAlarmAge: monitoring.oldestMessageAlarmAge ?? DEFAULT_OLDEST_MESSAGE_ALARM_AGE,
      kinds: perKind((kind) => ({ ...this.kinds[kind], fn: this.kinds[kind].function })),
    });
    this.alarms = built.alarms;
    this.dashboard = built.dashboard;

    acknowledgeNotificationsHandler(Stack.of(this));
  }

  /**
   * Another bucket whose new objects under the kinds' prefixes are pushed too, through the same
   * queues and functions (as cdk-serverless-clamscan's addSourceBucket): more than one team's bucket
   * can feed one deployment. Its S3 notifications (EventBridge rules with `source.eventBridge`) are
   * added, its queue-policy statements name it, and each function may read and tag objects under
   * its prefixes there (bulk-write also writes its results there). The bucket is not otherwise
   * changed and never emptied; the stack outputs name the first bucket only.
   * @param options.bucketKey the KMS key of an SSE-KMS bucket
   */
  addSourceBucket(bucket: IBucket, options: { bucketKey?: IKey | undefined } = {}): void {
    const name = bucket.node.id.replace(/[^A-Za-z0-9]/g, '');
    if (bucket === this.bucket) throw new Error('addSourceBucket: this bucket is already the source');
    if (name === '' || this.addedBuckets.has(name)) {
      throw new Error(
        `addSourceBucket: give each bucket its own construct id (letters, digits), got '${bucket.node.id}'`,
      );
    }
    this.addedBuckets.add(name);
    if (this.eventBridge) bucket.enableEventBridgeNotification();
    for (const kind of KINDS) this.kinds[kind].addSourceBucket(bucket, name, options.bucketKey);
  }

  private createPipeline(kind: Kind, settings: Settings, shared: SharedParts): KindPipeline {
    const props = settings.kindProps[kind];
    const record = kindRecord(kind);
    const deployTime = {
      secretArn: this.secret.secretArn,
      tokenTable: this.tokenTable.tableName,
      idempotencyTable: this.idempotencyTable.tableName,
      importsTable: this.importsTable.tableName,
    };
    return new KindPipeline(this, record.constructId, {
      kind,
      shared,
      prefix: settings.prefixes[kind],
      suffix: props.suffix ?? record.suffix,
      timeout: props.timeout ?? Duration.seconds(record.timeoutSeconds),
      memorySize: props.memorySize ?? record.memoryMb,
      batchSize: props.batchSize ?? record.batchSize,
      maxReceiveCount: props.maxReceiveCount ?? record.maxReceiveCount,
      maxConcurrency: settings.concurrency[kind],
      entry: props.entry,
      environment: (queueUrl) => settings.environmentOf(kind, { ...deployTime, queueUrl }),
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
    acknowledgeSecretRotation(secret);
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
}

/** The props with their defaults, checked; each function's environment from them. */
interface Settings {
  removalPolicy: RemovalPolicy;
  concurrency: ConcurrencySplit;
  kindProps: Record<Kind, S3ToZohoKindProps>;
  prefixes: Record<Kind, string>;
  resultsPrefix: string;
  namespace: string;
  /** Each function's environment; the values CloudFormation resolves are passed in. */
  environmentOf: (kind: Kind, deployTime: DeployTimeNames) => Record<string, string>;
}

/** Every setting the functions would refuse fails here, before anything is built (or bundled). */
function resolveSettings(props: S3ToZohoProps): Settings {
  const { zoho = {}, concurrency: share = {}, functions = {} } = props;
  const dataCentre = zoho.dataCentre ?? 'us';
  if (!isDataCentre(dataCentre))
    throw new Error(`zoho.dataCentre must be one of the Zoho DCs, got '${dataCentre}'`);
  const kindProps = perKind((kind) => props.kinds?.[kind] ?? {});
  for (const kind of KINDS) {
    const count = kindProps[kind].maxReceiveCount ?? kindRecord(kind).maxReceiveCount;
    if (!Number.isInteger(count) || count < 1 || count > 1000) {
      throw new Error(`kinds.${kind}.maxReceiveCount must be an integer from 1 to 1000, got ${count}`);
    }
  }
  const inFlight = share.maxInFlightPerInvocation ?? DEFAULT_MAX_IN_FLIGHT;
  const budget = share.budget ?? DEFAULT_ZOHO_CONCURRENCY_BUDGET;
  const floors = share.slotFloors ?? DEFAULT_SLOT_FLOORS;
  const concurrency = splitConcurrencyBudget({
    budget,
    inFlightPerInvocation: inFlight,
    split: share.split,
    floors,
  });
  const callsPerMinute = callsPerMinutePerInvocation(share.callsPerMinute, concurrency);
  const prefixes = perKind((kind) => kindProps[kind].prefix ?? DEFAULT_PREFIXES[kind]);
  const resultsPrefix = props.source?.resultsPrefix ?? DEFAULT_RESULTS_PREFIX;
  checkPrefixes(prefixes, resultsPrefix);
  checkEnvironment(functions.environment ?? {});
  const namespace = props.monitoring?.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE;
  const environmentOf = (kind: Kind, deployTime: DeployTimeNames): Record<string, string> =>
    functionEnvironment(kind, {
      base: functions.environment,
      zohoDc: dataCentre,
      secretArn: deployTime.secretArn,
      maxInFlight: inFlight,
      concurrencyBudget: budget,
      slotFloors: floors,
      callsPerMinute,
      tokenTable: deployTime.tokenTable,
      idempotencyTable: deployTime.idempotencyTable,
      importsTable: deployTime.importsTable,
      queueUrl: deployTime.queueUrl,
      resultsPrefix,
      metricsNamespace: namespace,
    });
  checkFunctionConfigs(
    perKind((kind) => environmentOf(kind, PLACEHOLDER_NAMES)),
    prefixes,
  );
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
  return {
    removalPolicy,
    concurrency,
    kindProps,
    prefixes,
    resultsPrefix,
    namespace,
    environmentOf,
  };
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
  const overlap = prefixesOverlap;
  for (const [index, { kind, prefix }] of watched.entries()) {
    if (overlap(resultsPrefix, prefix)) {
      throw new Error(
        `source.resultsPrefix '${resultsPrefix}' overlaps '${prefix}', watched by the ${kind} function: results would be pushed as new files`,
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
