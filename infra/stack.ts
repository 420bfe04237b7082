/**
 * The deployable stack: one S3ToZoho, its bucket new or existing, configured from CDK context
 * (`cdk deploy -c bucketName=my-bucket -c zohoDc=eu …`, or the `context` block of cdk.json).
 */
import { CfnOutput, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { Key } from 'aws-cdk-lib/aws-kms';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, Node } from 'constructs';
import { KINDS } from '#lib/kinds.ts';
import { DATA_CENTRES, type DataCentre, isDataCentre } from '#zoho/hosts.ts';
import type { ConcurrencySplit } from './concurrency.ts';
import { OUTPUT_NAMES } from './outputs.ts';
import { S3ToZoho, type S3ToZohoProps } from './s3-to-zoho.ts';

export interface S3ToZohoStackProps extends StackProps {
  /** Push from this existing bucket, by name. @default a new bucket */
  readonly bucketName?: string | undefined;
  /** Push from this existing bucket, by ARN. @default a new bucket */
  readonly bucketArn?: string | undefined;
  /** The KMS key ARN of an SSE-KMS bucket. @default none */
  readonly bucketKeyArn?: string | undefined;
  /** The complete ARN of an existing Zoho OAuth secret. @default a new secret */
  readonly zohoSecretArn?: string | undefined;
  /** The ARN of the KMS key of that secret, when it is customer managed. @default the AWS-managed key */
  readonly zohoSecretKeyArn?: string | undefined;
  /**
   * Everything else the construct takes; the bucket, the bucket key, the secret and its key are
   * those named above.
   * @default the construct's defaults
   */
  readonly s3ToZoho?: S3ToZohoProps | undefined;
}

export class S3ToZohoStack extends Stack {
  readonly s3ToZoho: S3ToZoho;

  constructor(scope: Construct, id: string, props: S3ToZohoStackProps = {}) {
    super(scope, id, props);
    if (props.bucketName && props.bucketArn) throw new Error('Give bucketName or bucketArn, not both');
    const bucket = props.bucketArn
      ? Bucket.fromBucketArn(this, 'ExistingBucket', props.bucketArn)
      : props.bucketName
        ? Bucket.fromBucketName(this, 'ExistingBucket', props.bucketName)
        : undefined;
    const { s3ToZoho = {} } = props;
    this.s3ToZoho = new S3ToZoho(this, 'S3ToZoho', {
      ...s3ToZoho,
      source: {
        ...s3ToZoho.source,
        bucket,
        bucketKey: props.bucketKeyArn ? Key.fromKeyArn(this, 'BucketKey', props.bucketKeyArn) : undefined,
      },
      zoho: {
        ...s3ToZoho.zoho,
        secret: props.zohoSecretArn
          ? Secret.fromSecretCompleteArn(this, 'ZohoSecret', props.zohoSecretArn)
          : undefined,
        secretKey: props.zohoSecretKeyArn
          ? Key.fromKeyArn(this, 'ZohoSecretKey', props.zohoSecretKeyArn)
          : undefined,
      },
    });
    this.addOperatorOutputs();
  }

  /** What `npm run status|replay|auth -- --stack NAME` reads (infra/outputs.ts names them). */
  private addOperatorOutputs(): void {
    const { bucket, secret, idempotencyTable, kinds } = this.s3ToZoho;
    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output(OUTPUT_NAMES.bucket, bucket.bucketName, 'The bucket the pipeline watches');
    output(
      OUTPUT_NAMES.secretArn,
      secret.secretArn,
      'The Zoho OAuth client secret (npm run auth --secret-id)',
    );
    output(
      OUTPUT_NAMES.ledgerTable,
      idempotencyTable.tableName,
      'The idempotency ledger, holding the full text of reasons the tags cut short (npm run status --ledger-table)',
    );
    for (const kind of KINDS) {
      output(
        OUTPUT_NAMES.queueUrl(kind),
        kinds[kind].queue.queueUrl,
        `The ${kind} queue (npm run replay --queue-url)`,
      );
      output(
        OUTPUT_NAMES.deadLetterQueueArn(kind),
        kinds[kind].deadLetterQueue.queueArn,
        `The ${kind} dead-letter queue (npm run replay --redrive --dlq-arn)`,
      );
      output(OUTPUT_NAMES.prefix(kind), kinds[kind].prefix, `The key prefix the ${kind} function watches`);
    }
  }
}

/** Every context key the app reads; the README lists them with their defaults. */
const CONTEXT_KEYS = [
  'stackName',
  'bucketName',
  'bucketArn',
  'bucketKeyArn',
  'zohoSecretArn',
  'zohoSecretKeyArn',
  'eventBridge',
  'zohoDc',
  'concurrencyBudget',
  'concurrencySplit',
  'slotFloors',
  'maxInFlight',
  'callsPerMinute',
  'maxReceiveCount',
  'attachmentsPrefix',
  'photosPrefix',
  'bulkWritePrefix',
  'resultsPrefix',
  'environment',
  'logRetentionDays',
  'metricsNamespace',
  'alarmEmail',
  'failureRateThreshold',
  'throttleAlarmThreshold',
  'dashboardName',
  'removalPolicy',
] as const;

/** The stack's props from CDK context. Values from `-c` are strings; those from cdk.json may be typed. */
export function stackPropsFromContext(node: Node): S3ToZohoStackProps {
  const read = (key: (typeof CONTEXT_KEYS)[number]): unknown => {
    const value = node.tryGetContext(key);
    return value === '' || value === null ? undefined : value;
  };
  const text = (key: (typeof CONTEXT_KEYS)[number]) => {
    const value = read(key);
    return value === undefined ? undefined : String(value);
  };
  const number = (key: (typeof CONTEXT_KEYS)[number]) => {
    const value = read(key);
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isFinite(parsed)) throw new Error(`Context ${key} must be a number, got '${String(value)}'`);
    return parsed;
  };
  const maxReceiveCount = number('maxReceiveCount');
  const kind = (key: (typeof CONTEXT_KEYS)[number]) => ({ prefix: text(key), maxReceiveCount });

  const zohoDc = text('zohoDc');
  if (zohoDc !== undefined && !isDataCentre(zohoDc)) {
    throw new Error(`Context zohoDc must be one of ${DATA_CENTRES.join(', ')}, got '${zohoDc}'`);
  }
  const logRetentionDays = number('logRetentionDays');
  if (logRetentionDays !== undefined && !Object.values(RetentionDays).includes(logRetentionDays)) {
    throw new Error(
      `Context logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, …), got ${logRetentionDays}`,
    );
  }
  const eventBridge = text('eventBridge');
  if (eventBridge !== undefined && eventBridge !== 'true' && eventBridge !== 'false') {
    throw new Error(`Context eventBridge must be 'true' or 'false', got '${eventBridge}'`);
  }
  const removalPolicy = text('removalPolicy');
  if (removalPolicy !== undefined && removalPolicy !== 'retain' && removalPolicy !== 'destroy') {
    throw new Error(`Context removalPolicy must be 'retain' or 'destroy', got '${removalPolicy}'`);
  }

  return {
    bucketName: text('bucketName'),
    bucketArn: text('bucketArn'),
    bucketKeyArn: text('bucketKeyArn'),
    zohoSecretArn: text('zohoSecretArn'),
    zohoSecretKeyArn: text('zohoSecretKeyArn'),
    s3ToZoho: {
      source: {
        eventBridge: eventBridge === undefined ? undefined : eventBridge === 'true',
        resultsPrefix: text('resultsPrefix'),
      },
      zoho: { dataCentre: zohoDc as DataCentre | undefined },
      concurrency: {
        budget: number('concurrencyBudget'),
        split: parseKindNumbers('concurrencySplit', read('concurrencySplit')),
        slotFloors: parseKindNumbers('slotFloors', read('slotFloors')),
        maxInFlightPerInvocation: number('maxInFlight'),
        callsPerMinute: number('callsPerMinute'),
      },
      kinds: {
        attachment: kind('attachmentsPrefix'),
        photo: kind('photosPrefix'),
        'bulk-write': kind('bulkWritePrefix'),
      },
      functions: {
        environment: parseEnvironment(read('environment')),
        logRetention: logRetentionDays as RetentionDays | undefined,
      },
      monitoring: {
        metricsNamespace: text('metricsNamespace'),
        alarmEmail: text('alarmEmail'),
        failureRateThreshold: number('failureRateThreshold'),
        throttleAlarmThreshold: number('throttleAlarmThreshold'),
        dashboardName: text('dashboardName'),
      },
      removalPolicy:
        removalPolicy === undefined
          ? undefined
          : removalPolicy === 'destroy'
            ? RemovalPolicy.DESTROY
            : RemovalPolicy.RETAIN,
    },
  };
}

/** `attachment=4,photo=4,bulk-write=2`, or the same as a JSON object. */
function parseKindNumbers(name: string, value: unknown): ConcurrencySplit | undefined {
  if (value === undefined) return undefined;
  const entries =
    typeof value === 'string' && !value.trim().startsWith('{')
      ? value.split(',').map((pair) => pair.split('=').map((part) => part.trim()))
      : Object.entries(typeof value === 'string' ? (JSON.parse(value) as object) : (value as object));
  const split = Object.fromEntries(entries.map(([kind, count]) => [kind, Number(count)]));
  for (const kind of KINDS) {
    if (!(kind in split)) {
      throw new Error(
        `Context ${name} must name ${KINDS.join(', ')}, e.g. attachment=4,photo=4,bulk-write=2`,
      );
    }
  }
  return split as ConcurrencySplit;
}

/** A JSON object of extra environment variables, e.g. '{"ZOHO_API_VERSION":"v8"}'. */
function parseEnvironment(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('Context environment must be a JSON object of strings');
  }
  return Object.fromEntries(Object.entries(parsed).map(([name, v]) => [name, String(v)]));
}
