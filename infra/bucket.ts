/**
 * The bucket S3ToZoho creates when it is given none: versioned, encrypted, SSL only, public access
 * blocked, server access logs to a second bucket, and a lifecycle for old versions and (opt-in)
 * for objects pushed for good.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  StorageClass,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

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

export interface PipelineBucketProps {
  readonly bucketKey: IKey | undefined;
  readonly serverAccessLogsBucket: IBucket | undefined;
  readonly lifecycle: BucketLifecycleProps;
  readonly removalPolicy: RemovalPolicy;
}

const DEFAULT_NONCURRENT_EXPIRATION = Duration.days(30);

/** The pipeline's bucket and, unless one is given, the bucket of its access logs. */
export function createPipelineBucket(scope: Construct, props: PipelineBucketProps) {
  const { removalPolicy } = props;
  const accessLogsBucket = props.serverAccessLogsBucket ?? createAccessLogsBucket(scope, removalPolicy);
  const bucket = new Bucket(scope, 'Bucket', {
    ...(props.bucketKey
      ? { encryption: BucketEncryption.KMS, encryptionKey: props.bucketKey, bucketKeyEnabled: true }
      : { encryption: BucketEncryption.S3_MANAGED }),
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    versioned: true,
    serverAccessLogsBucket: accessLogsBucket,
    serverAccessLogsPrefix: 'pipeline-bucket/',
    lifecycleRules: lifecycleRules(props.lifecycle),
    removalPolicy,
    autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
  });
  return { bucket, accessLogsBucket };
}

function createAccessLogsBucket(scope: Construct, removalPolicy: RemovalPolicy): IBucket {
  const bucket = new Bucket(scope, 'AccessLogsBucket', {
    encryption: BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
    removalPolicy,
    autoDeleteObjects: removalPolicy === RemovalPolicy.DESTROY,
  });
  return asInterface<IBucket>(bucket);
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

/**
 * aws-cdk-lib's classes declare `x: T | undefined` where their interfaces say `x?: T`, which
 * exactOptionalPropertyTypes refuses to match; the object is the interface all the same.
 */
export function asInterface<T>(construct: unknown): T {
  return construct as T;
}
