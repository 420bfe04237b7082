/**
 * KindPipeline: one kind of push end to end. Its queue and dead-letter queue, the function that
 * reads the queue, the S3 notifications (or EventBridge rules) that fill the queue, and the
 * function's role with exactly what the kind needs. S3ToZoho composes one per kind
 * (functions/lib/kinds.ts) and gives each the shared parts: bucket, secret, tables.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, RecursiveLoop, type Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Kind, kindRecord, watchedPrefixes } from '#lib/kinds.ts';
import { defaultEntry, LAMBDA_ESBUILD, LAMBDA_ESBUILD_ARGS, REPO_ROOT } from './bundling.ts';
import { flatUniqueId, keepFlatLogicalIds } from './flat-logical-ids.ts';
import { acknowledgePrefixArns, acknowledgeTracing } from './nag.ts';
import { notifyQueue, ruleToQueue } from './queue-policies.ts';

/** AWS: a queue's visibility timeout should be at least 6 × the function timeout for SQS event sources. */
const VISIBILITY_FACTOR = 6;
/** SQS's longest: a long outage must not delete messages (expired ones never reach the DLQ). */
const QUEUE_RETENTION = Duration.days(14);

/** What every kind's pipeline shares, built by S3ToZoho. */
export interface SharedParts {
  readonly bucket: IBucket;
  readonly bucketKey: IKey | undefined;
  readonly secret: ISecret;
  readonly secretKey: IKey | undefined;
  readonly tokenTable: Table;
  readonly idempotencyTable: Table;
  readonly importsTable: Table;
  readonly resultsPrefix: string;
  /** Feed the queue through EventBridge rules instead of S3 notifications. */
  readonly eventBridge: boolean;
  readonly runtime: Runtime;
  readonly logRetention: RetentionDays;
}

export interface KindPipelineProps {
  readonly kind: Kind;
  readonly shared: SharedParts;
  /** The kind's watched prefix (the kind record's by default, see S3ToZohoKindProps). */
  readonly prefix: string;
  readonly suffix: string | undefined;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly batchSize: number;
  readonly maxReceiveCount: number;
  /** The event source's maximum concurrency (concurrency.ts). */
  readonly maxConcurrency: number;
  readonly entry: string | undefined;
  /** The function's environment, given its queue's URL. */
  readonly environment: (queueUrl: string) => Record<string, string>;
}

/** The role's statements that name a source bucket: another bucket adds its ARNs to them. */
interface BucketStatements {
  read: PolicyStatement;
  tag: PolicyStatement;
  list: PolicyStatement;
  /** A kind that follows its jobs writes their results beside the source object. */
  results: PolicyStatement | undefined;
}

export class KindPipeline extends Construct {
  readonly kind: Kind;
  readonly prefix: string;
  readonly function: NodejsFunction;
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly role: Role;
  /** The event source's maximum concurrency. */
  readonly maxConcurrency: number;
  readonly timeout: Duration;
  private readonly suffix: string | undefined;
  private readonly shared: SharedParts;
  private readonly statements: BucketStatements;

  constructor(scope: Construct, id: string, props: KindPipelineProps) {
    super(scope, id);
    const { kind, shared } = props;
    this.kind = kind;
    this.prefix = props.prefix;
    this.maxConcurrency = props.maxConcurrency;
    this.timeout = props.timeout;
    this.suffix = props.suffix;
    this.shared = shared;
    if (!Number.isInteger(props.batchSize) || props.batchSize < 1 || props.batchSize > 10) {
      throw new Error(`${kind} batchSize must be an integer from 1 to 10, got ${props.batchSize}`);
    }

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: QUEUE_RETENTION,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.timeout.toSeconds() * VISIBILITY_FACTOR),
      retentionPeriod: QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `s3-to-zoho ${kind} function: its log group, its prefix, the Zoho secret and tables`,
    });
    this.function = this.createFunction(props);
    this.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: props.batchSize,
        maxConcurrency: props.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.watch(shared.bucket, '');
    this.statements = this.grantAccess(shared);
    keepFlatLogicalIds(this);
  }

  private createFunction(props: KindPipelineProps): NodejsFunction {
    const logGroup = new LogGroup(this, 'Logs', { retention: props.shared.logRetention });
    logGroup.grantWrite(this.role);
    return new NodejsFunction(this, 'Function', {
      description: `s3-to-zoho: pushes s3://…/${props.prefix}* to Zoho CRM (${props.kind})`,
      entry: props.entry ?? defaultEntry(props.kind),
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: `${REPO_ROOT}package-lock.json`,
      runtime: props.shared.runtime,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup,
      // A kind that follows its jobs sends itself delayed messages on its own queue, a loop by
      // design that Lambda would otherwise stop after 16 rounds.
      ...(kindRecord(props.kind).followsJobs ? { recursiveLoop: RecursiveLoop.ALLOW } : {}),
      environment: props.environment(this.queue.queueUrl),
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
  }

  /**
   * Another bucket feeds this pipeline (S3ToZoho.addSourceBucket): its new objects under the kind's
   * prefixes reach the queue, and the role may read and tag them there (and write results there).
   * `name` sets its rules and queue-policy statements apart from the first bucket's.
   */
  addSourceBucket(bucket: IBucket, name: string, bucketKey?: IKey): void {
    this.watch(bucket, name);
    const { objects, results } = this.arnsIn(bucket);
    this.statements.read.addResources(...objects);
    this.statements.tag.addResources(...objects);
    this.statements.list.addResources(bucket.bucketArn);
    this.statements.results?.addResources(results);
    this.grantKey(bucketKey);
    this.acknowledgePrefixes(objects, results);
  }

  /** New objects under the kind's own prefix, then those it watches besides (file-upload fields: `fields/`), reach the queue. */
  private watch(bucket: IBucket, name: string): void {
    for (const [index, prefix] of watchedPrefixes(this.kind, this.prefix).entries()) {
      const filter = { prefix, suffix: this.suffix };
      if (!this.shared.eventBridge) {
        notifyQueue(bucket, this.queue, filter, `S3SendsObjectCreatedEvents${name}`);
        continue;
      }
      const label = `${name}${index === 0 ? '' : `Extra${index}`}`;
      const id = `${label}Rule`;
      ruleToQueue(
        this,
        {
          id,
          queue: `${this.node.id}${label}`,
          sid: `EventBridgeSends${flatUniqueId(this, [id]).slice(-8)}`,
        },
        bucket,
        this.queue,
        filter,
      );
    }
  }

  /** Its prefixes' objects in the bucket, and where its results go there. */
  private arnsIn(bucket: IBucket) {
    return {
      objects: watchedPrefixes(this.kind, this.prefix).map((prefix) => bucket.arnForObjects(`${prefix}*`)),
      results: bucket.arnForObjects(`${this.shared.resultsPrefix}*`),
    };
  }

  /** The KMS key of an SSE-KMS bucket: decrypt to read, and for a kind that writes results, encrypt them. */
  private grantKey(bucketKey: IKey | undefined): void {
    const followsJobs = kindRecord(this.kind).followsJobs;
    bucketKey?.grant(this.role, ...(followsJobs ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt']));
  }

  private acknowledgePrefixes(objects: string[], results: string): void {
    const stack = Stack.of(this);
    const prefixed = [...objects, ...(kindRecord(this.kind).followsJobs ? [results] : [])];
    acknowledgePrefixArns(
      this.role,
      this.kind,
      prefixed.map((arn) => stack.resolve(arn)),
    );
  }

  /** Explicit statements: grantRead/grantWrite would hand out s3:GetObject* and s3:List* on the whole bucket. */
  private grantAccess(shared: SharedParts): BucketStatements {
    const { objects, results } = this.arnsIn(shared.bucket);
    const followsJobs = kindRecord(this.kind).followsJobs;
    const [read, tag, list] = objectStatements(objects, shared.bucket);
    const jobs = followsJobs ? jobStatements(results, shared.importsTable, this.queue) : [];
    for (const statement of [read, tag, list, tableStatement(shared), ...jobs]) {
      this.role.addToPrincipalPolicy(statement);
    }
    shared.secret.grantRead(this.role);
    shared.secretKey?.grant(this.role, 'kms:Decrypt');
    this.grantKey(shared.bucketKey);
    this.acknowledgePrefixes(objects, results);
    acknowledgeTracing(this.role);
    return { read, tag, list, results: jobs[0] };
  }
}

/** Read and tag the objects under its prefixes; list the bucket. */
function objectStatements(
  objects: string[],
  bucket: IBucket,
): [PolicyStatement, PolicyStatement, PolicyStatement] {
  return [
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
      resources: [bucket.bucketArn],
    }),
  ];
}

/** The shared token, the fleet's slots, the idempotency ledger (and the full reasons it keeps). */
function tableStatement(shared: SharedParts): PolicyStatement {
  return new PolicyStatement({
    sid: 'ZohoTokenSlotsAndIdempotency',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
    ],
    resources: [shared.tokenTable.tableArn, shared.idempotencyTable.tableArn],
  });
}

/** A kind that follows its jobs: its results, its imports' records, its delayed follow-ups. */
function jobStatements(results: string, importsTable: Table, queue: Queue): PolicyStatement[] {
  return [
    new PolicyStatement({
      sid: 'WriteBulkResults',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [results],
    }),
    new PolicyStatement({
      sid: 'BulkImportRecords',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
      resources: [importsTable.tableArn],
    }),
    new PolicyStatement({
      sid: 'FollowUpOwnJobs',
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
    }),
  ];
}
