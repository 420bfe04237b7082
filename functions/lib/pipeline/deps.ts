/**
 * Everything a handler needs, built once per container from the validated config. The local
 * runner builds the same thing pointed at its embedded S3, DynamoDB, queue and Zoho sandbox.
 * The modules below the handler each name the narrow part they use (record-outcome.ts
 * `OutcomeRecording`, bulk/start.ts `StartDeps`, bulk/follow.ts `FollowDeps`, full-reason.ts…);
 * `PipelineDeps` holds them all, and only the handler, process.ts and the pushers take it whole.
 */

import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import type { Config } from '#lib/config.ts';
import { serviceName } from '#lib/kinds.ts';
import { FILES_BY_STATUS, METRIC } from '#lib/metric-names.ts';
import type { Kind } from '#lib/routing/route.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import { createZohoClient } from '#zoho/client.ts';
import { isZohoError } from '#zoho/errors.ts';
import { createFleetSlots } from '#zoho/fleet/slots.ts';
import { createDynamoDbTokenStore } from '#zoho/token-store-dynamodb.ts';
import type { OAuthCredentials, ZohoClient } from '#zoho/types.ts';
import { type SendFollowUp, sqsFollowUps } from './bulk/follow-up.ts';
import { createImportStore, type ImportStore } from './bulk/store.ts';
import type { LedgerTable } from './full-reason.ts';
import type { Outcome } from './outcome.ts';

export type { Kind };

export interface PipelineDeps {
  kind: Kind;
  /** The validated configuration; its `routes` decide where a key goes. */
  config: Config;
  s3: S3Client;
  zoho: ZohoClient;
  log: Logger;
  metrics: Metrics;
  /** Runs the push of one write at most once across the fleet (a duplicate gets the stored outcome); see `writeId`. */
  once: (write: string, push: () => Promise<Outcome>) => Promise<Outcome>;
  /** The idempotency ledger table (IDEMPOTENCY_TABLE): also keeps full reasons (full-reason.ts). */
  ledger: LedgerTable;
  /** Bulk imports' records (IMPORTS_TABLE); bulk-write only. */
  imports: ImportStore | undefined;
  /** Sends a bulk write follow-up back onto the function's own queue, delayed. */
  followUp: SendFollowUp;
  /** Counts an outcome in the metrics. */
  count: (outcome: Outcome, bytes: number) => void;
  countRetry: (error: unknown) => void;
  /** Counts an outcome whose tags found no room beside the user's own (S3 allows 10). */
  countDroppedTags: () => void;
  registerContext: (context: Context) => void;
  now: () => Date;
  /** Told of each outcome once it is on its object (`npm start` prints them; unset in Lambda). */
  onRecorded?: ((object: StoredObject, outcome: Outcome) => void) | undefined;
  /** Told of each retry within the run once it is noted on the object (`npm start` prints them; unset in Lambda). */
  onRetrying?: ((object: StoredObject, note: RetryNote) => void) | undefined;
}

/** A push to be tried again within the run: why, and when. */
export interface RetryNote {
  code: string | undefined;
  reason: string | undefined;
  retryAt: Date;
}

export interface DepsOverrides {
  /** OAuth credentials given directly (local runs); otherwise read from Secrets Manager. */
  credentials?: OAuthCredentials;
  /** AWS credentials for local endpoints; in Lambda the function's role provides them. */
  awsCredentials?: { accessKeyId: string; secretAccessKey: string };
  log?: Logger;
  onRecorded?: PipelineDeps['onRecorded'];
  onRetrying?: PipelineDeps['onRetrying'];
}

/** A version once pushed stays pushed: the tags say so for good, the ledger guards a week of retries. */
const LEDGER_TTL_SECONDS = 7 * 24 * 3600;

export async function createDeps(
  kind: Kind,
  config: Config,
  overrides: DepsOverrides = {},
): Promise<PipelineDeps> {
  const log = overrides.log ?? new Logger({ serviceName: serviceName(kind) });
  const metrics = new Metrics({
    logger: log,
    namespace: config.metricsNamespace,
    serviceName: serviceName(kind),
    defaultDimensions: { kind },
  });
  const { s3, dynamo, sqs } = awsClients(config, overrides);
  const zoho = await createZoho(kind, config, { dynamo, log, metrics, credentials: overrides.credentials });
  const ledger = createLedger(kind, config, dynamo);
  return {
    kind,
    config,
    s3,
    zoho,
    log,
    metrics,
    once: ledger.once,
    ledger: { client: dynamo, tableName: config.idempotencyTable },
    imports: config.importsTable ? createImportStore(dynamo, config.importsTable) : undefined,
    followUp: sqsFollowUps(sqs, config.followUpQueueUrl, config.bulkPollSeconds),
    ...counters(metrics),
    registerContext: ledger.registerContext,
    now: () => new Date(),
    onRecorded: overrides.onRecorded,
    onRetrying: overrides.onRetrying,
  };
}

/** The AWS clients, pointed at local endpoints when the config names them. */
function awsClients(config: Config, overrides: DepsOverrides) {
  const region = config.region;
  const aws = { region, ...(overrides.awsCredentials ? { credentials: overrides.awsCredentials } : {}) };
  const s3 = new S3Client({
    ...aws,
    // Local S3 servers (s3rver) do not decode the aws-chunked bodies the SDK sends to checksum a stream.
    ...(config.s3Endpoint
      ? {
          endpoint: config.s3Endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
        }
      : {}),
  });
  const dynamo = new DynamoDBClient({
    ...aws,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
  });
  const sqs = new SQSClient({ ...aws, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });
  return { s3, dynamo, sqs };
}

/** The Zoho client: its token in the token table, its share of the fleet's slots when a budget is set. */
async function createZoho(
  kind: Kind,
  config: Config,
  use: { dynamo: DynamoDBClient; log: Logger; metrics: Metrics; credentials: OAuthCredentials | undefined },
): Promise<ZohoClient> {
  const { dynamo, log, metrics } = use;
  const credentials = use.credentials ?? secretCredentials(config, config.region);
  const firstCredentials = typeof credentials === 'function' ? await credentials() : credentials;
  return createZohoClient({
    hosts: config.zohoHosts,
    apiVersion: config.zohoApiVersion,
    credentials,
    tokenStore: createDynamoDbTokenStore({
      client: dynamo,
      tableName: config.tokenTable,
      clientId: firstCredentials.clientId,
    }),
    maxInFlight: config.zohoMaxInFlight,
    fleetSlots: config.zohoConcurrencyBudget
      ? createFleetSlots({
          client: dynamo,
          tableName: config.tokenTable,
          kind,
          budget: config.zohoConcurrencyBudget,
          floors: config.zohoSlotFloors,
          onError: (error) => log.warn('Fleet slot table call failed', { error }),
        })
      : undefined,
    ...(config.zohoCallsPerMinute ? { callsPerMinute: config.zohoCallsPerMinute } : {}),
    log,
    onTokenRefresh: () => metrics.addMetric(METRIC.tokenRefreshes, MetricUnit.Count, 1),
  });
}

/** Powertools idempotency over the ledger table: `once`, and the invocation whose deadline bounds its marks. */
function createLedger(kind: Kind, config: Config, dynamo: DynamoDBClient) {
  const idempotencyConfig = new IdempotencyConfig({ expiresAfterSeconds: LEDGER_TTL_SECONDS });
  const once = makeIdempotent(async (_write: { write: string }, push: () => Promise<Outcome>) => push(), {
    persistenceStore: new DynamoDBPersistenceLayer({
      tableName: config.idempotencyTable,
      awsSdkV3Client: dynamo,
    }),
    config: idempotencyConfig,
    dataIndexArgument: 0,
    keyPrefix: serviceName(kind),
  });
  return {
    once: (write: string, push: () => Promise<Outcome>) => once({ write }, push),
    registerContext: (context: Context) => idempotencyConfig.registerLambdaContext(context),
  };
}

/** The metrics an outcome, a retry and dropped tags count in. */
function counters(metrics: Metrics): Pick<PipelineDeps, 'count' | 'countRetry' | 'countDroppedTags'> {
  return {
    count(outcome, bytes) {
      metrics.addMetric(FILES_BY_STATUS[outcome.status], MetricUnit.Count, 1);
      if (outcome.status === 'done') metrics.addMetric(METRIC.bytesPushed, MetricUnit.Bytes, bytes);
      if (outcome.status === 'failed' && outcome.code) countError(metrics, outcome.code);
    },
    countRetry(error) {
      countError(metrics, isZohoError(error) ? error.code : 'RETRY');
    },
    countDroppedTags: () => metrics.addMetric(METRIC.outcomeTagsDropped, MetricUnit.Count, 1),
  };
}

function countError(metrics: Metrics, code: string) {
  const single = metrics.singleMetric();
  single.addDimension('code', code);
  single.addMetric(METRIC.zohoErrors, MetricUnit.Count, 1);
}

/** The OAuth client from Secrets Manager, cached for five minutes so a rotated secret is picked up. */
function secretCredentials(config: Config, region: string): () => Promise<OAuthCredentials> {
  const secretArn = config.zohoSecretArn;
  if (!secretArn)
    throw new Error('ZOHO_SECRET_ARN is not set: the Zoho OAuth client has nowhere to come from');
  const provider = new SecretsProvider({ clientConfig: { region } });
  return async () => {
    const secret = (await provider.get(secretArn, { transform: 'json', maxAge: 300 })) as
      | Record<string, unknown>
      | undefined;
    const clientId = secret?.client_id;
    const clientSecret = secret?.client_secret;
    const refreshToken = secret?.refresh_token;
    if (
      typeof clientId !== 'string' ||
      typeof clientSecret !== 'string' ||
      typeof refreshToken !== 'string'
    ) {
      throw new Error(
        `The secret ${secretArn} must hold client_id, client_secret and refresh_token: run \`npm run auth\` to fill it`,
      );
    }
    return { clientId, clientSecret, refreshToken };
  };
}
