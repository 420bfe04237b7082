/**
 * What `npm start` runs beside the handlers: the Zoho sandbox, the embedded S3 and DynamoDB, a
 * queue per kind behind a local SQS endpoint; and what each kind's function and event source are
 * given, as the stack gives them (functions/lib/kinds.ts, functionEnvironment in config.ts).
 */
import { DEFAULT_MAX_IN_FLIGHT, functionEnvironment } from '#lib/config.ts';
import { type Kind, localName, perKind, SERVICE } from '#lib/kinds.ts';
import type { Sandbox } from '#sandbox/server.ts';
import { DEFAULT_ZOHO_CONCURRENCY_BUDGET, splitConcurrencyBudget } from '../../infra/concurrency.ts';
import { createPipelineTables, type LocalDynamoDb, releaseLeases } from './dynamodb.ts';
import { DEFAULT_LOCAL_DIR, localPaths, queueJournalPath } from './local-dir.ts';
import { createLocalQueue, type LocalQueue } from './queue.ts';
import { LOCAL_REGION, type LocalS3, PIPELINE_NOTIFICATIONS } from './s3.ts';
import { type SqsEndpoint, startSqsEndpoint } from './sqs-endpoint.ts';
import { startLocalStorage } from './storage-worker.ts';

export const DEFAULT_S3_PORT = 4569;
export const DEFAULT_BUCKET = 'inbox';
export const DEFAULT_SANDBOX_PORT = 8780;
/** Fixed, so that the operator commands' settings stay true across restarts (dynalite's own default). */
export const DEFAULT_DYNAMODB_PORT = 4567;
/** Fixed likewise (ElasticMQ's, the usual local SQS port). */
export const DEFAULT_SQS_PORT = 9324;
/** Where npm start keeps the objects: .local/s3 at the project's root (git-ignored). */
export const DEFAULT_DIRECTORY = localPaths(DEFAULT_LOCAL_DIR).s3;
/**
 * Each kind's event source concurrency, as the stack derives it from the default budget
 * (infra/concurrency.ts): the fleet shares the budget through slots in the token table, as in AWS.
 */
const MAX_CONCURRENCY = splitConcurrencyBudget({
  budget: DEFAULT_ZOHO_CONCURRENCY_BUDGET,
  inFlightPerInvocation: DEFAULT_MAX_IN_FLIGHT,
});
export const TABLES = {
  token: `${SERVICE}-tokens`,
  idempotency: `${SERVICE}-idempotency`,
  imports: `${SERVICE}-imports`,
} as const;
/** The sandbox finishes bulk jobs in seconds; following them every minute would only make the demo wait. */
const SANDBOX_BULK_POLL_SECONDS = '2';

/** The options of startLocalPipeline these services read. */
export interface ServiceOptions {
  s3Port?: number;
  sandboxPort?: number;
  localDir?: string;
  dynamodbPort?: number;
  sqsPort?: number;
  directory?: string;
  functionTimeoutSeconds?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  maxConcurrency?: number;
  batchSize?: number;
}

/** The local stand-ins for AWS and Zoho the handlers talk to. */
export interface LocalServices {
  env: Record<string, string | undefined>;
  sandbox: Sandbox | undefined;
  dynamo: LocalDynamoDb;
  queues: Record<Kind, LocalQueue>;
  sqs: SqsEndpoint;
  s3: LocalS3;
}

export interface ServicesSetup {
  options: ServiceOptions;
  env: Record<string, string | undefined>;
  bucket: string;
  /** Whether Zoho is the sandbox (started here) or the real one. */
  sandbox: boolean;
  settings: Record<Kind, EventSourceSettings>;
}

export interface Shutdown {
  add(closer: () => Promise<void> | void): void;
  /** Stops everything, in reverse order of start, even when one step fails; then throws the first failure. */
  close(): Promise<void>;
}

export async function startServices(
  setup: ServicesSetup,
  shutdown: Shutdown,
  onStopped: (error: Error) => void,
): Promise<LocalServices> {
  const { options, env } = setup;
  const kept = options.localDir ? localPaths(options.localDir) : undefined;
  const sandbox = setup.sandbox
    ? await (await import('#sandbox/server.ts')).startSandbox({
        port: options.sandboxPort ?? numberFrom(env.SANDBOX_PORT, 'SANDBOX_PORT') ?? DEFAULT_SANDBOX_PORT,
        ...(kept ? { stateDir: kept.sandbox } : {}),
      })
    : undefined;
  if (sandbox) shutdown.add(() => sandbox.close());

  const { s3, dynamo } = await startLocalStorage(
    {
      port: options.s3Port ?? numberFrom(env.S3_PORT, 'S3_PORT') ?? DEFAULT_S3_PORT,
      dynamodbPort:
        options.dynamodbPort ?? numberFrom(env.DYNAMODB_PORT, 'DYNAMODB_PORT') ?? DEFAULT_DYNAMODB_PORT,
      directory: options.directory ?? kept?.s3 ?? DEFAULT_DIRECTORY,
      dynamoPath: kept?.dynamodb,
      bucket: setup.bucket,
      notifications: PIPELINE_NOTIFICATIONS,
    },
    onStopped,
  );
  shutdown.add(() => dynamo.close());
  await createPipelineTables(dynamo.client, {
    tokenTable: TABLES.token,
    idempotencyTable: TABLES.idempotency,
    importsTable: TABLES.imports,
  });
  if (kept) await releaseLeases(dynamo.client, TABLES.token, { forgetAccessTokens: sandbox !== undefined });

  const queues = startQueues(setup, shutdown);
  const sqs = await startSqsEndpoint({
    queues: Object.values(queues),
    port: options.sqsPort ?? numberFrom(env.SQS_PORT, 'SQS_PORT') ?? DEFAULT_SQS_PORT,
  });
  shutdown.add(() => sqs.close());

  return { env, sandbox, dynamo, queues, sqs, s3 };
}

function startQueues({ options, settings }: ServicesSetup, shutdown: Shutdown): Record<Kind, LocalQueue> {
  const queues = perKind((kind) =>
    createLocalQueue({
      name: localName(kind),
      visibilityTimeoutMs: settings[kind].visibilityTimeoutMs,
      maxReceiveCount: settings[kind].maxReceiveCount,
      ...(options.localDir ? { journalPath: queueJournalPath(options.localDir, localName(kind)) } : {}),
    }),
  );
  shutdown.add(() => {
    for (const queue of Object.values(queues)) queue.close();
  });
  return queues;
}

/** A kind's handler environment: the stack's, pointed at the local services. */
export function handlerEnv(
  kind: Kind,
  services: LocalServices,
  settings: EventSourceSettings,
): Record<string, string> {
  const { env, s3, dynamo, sqs, sandbox } = services;
  return {
    ...functionEnvironment(kind, {
      base: env,
      // One handler here stands for all the kind's concurrent Lambdas, so it gets all their Zoho calls.
      maxInFlight: settings.maxConcurrency * Number(env.ZOHO_MAX_IN_FLIGHT ?? DEFAULT_MAX_IN_FLIGHT),
      // Unless the environment gives one.
      concurrencyBudget:
        env.ZOHO_CONCURRENCY_BUDGET === undefined ? DEFAULT_ZOHO_CONCURRENCY_BUDGET : undefined,
      tokenTable: TABLES.token,
      idempotencyTable: TABLES.idempotency,
      importsTable: TABLES.imports,
      queueUrl: sqs.queueUrl(localName(kind)),
    }),
    AWS_REGION: LOCAL_REGION,
    S3_ENDPOINT: s3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SQS_ENDPOINT: sqs.url,
    ...(sandbox
      ? {
          ZOHO_DC: 'us',
          ZOHO_ACCOUNTS_URL: sandbox.accountsUrl,
          ZOHO_API_URL: sandbox.apiUrl,
          ZOHO_UPLOAD_URL: sandbox.uploadUrl,
          BULK_POLL_SECONDS: env.BULK_POLL_SECONDS ?? SANDBOX_BULK_POLL_SECONDS,
        }
      : {}),
  };
}

export interface EventSourceSettings {
  timeoutMs: number;
  visibilityTimeoutMs: number;
  maxConcurrency: number;
  batchSize: number;
  maxReceiveCount: number;
}

/** Each kind's event source, as the stack sets it up unless the options or FUNCTION_TIMEOUT_SECONDS, VISIBILITY_TIMEOUT_SECONDS say otherwise. */
export function eventSourceSettings(
  options: ServiceOptions,
  env: Record<string, string | undefined>,
): Record<Kind, EventSourceSettings> {
  const functionTimeoutSeconds =
    options.functionTimeoutSeconds ?? secondsFrom(env.FUNCTION_TIMEOUT_SECONDS, 'FUNCTION_TIMEOUT_SECONDS');
  const visibilityTimeout =
    options.visibilityTimeoutSeconds ??
    secondsFrom(env.VISIBILITY_TIMEOUT_SECONDS, 'VISIBILITY_TIMEOUT_SECONDS');
  return perKind((kind, record) => {
    const timeoutSeconds = functionTimeoutSeconds ?? record.timeoutSeconds;
    const visibilityTimeoutSeconds = visibilityTimeout ?? timeoutSeconds;
    if (visibilityTimeoutSeconds < timeoutSeconds) {
      throw new Error(
        `The visibility timeout (${visibilityTimeoutSeconds} s) must be at least the ${kind} function timeout (${timeoutSeconds} s), as AWS requires`,
      );
    }
    return {
      timeoutMs: timeoutSeconds * 1000,
      visibilityTimeoutMs: visibilityTimeoutSeconds * 1000,
      maxConcurrency: options.maxConcurrency ?? MAX_CONCURRENCY[kind],
      batchSize: options.batchSize ?? record.batchSize,
      maxReceiveCount: options.maxReceiveCount ?? record.maxReceiveCount,
    };
  });
}

/** Each kind's queue URL on the local SQS endpoint. */
export function queueUrls(sqs: SqsEndpoint): Record<Kind, string> {
  return perKind((kind) => sqs.queueUrl(localName(kind)));
}

function numberFrom(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535)
    throw new Error(`${name} must be a port number`);
  return number;
}

function secondsFrom(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > 900)
    throw new Error(`${name} must be a whole number of seconds from 1 to 900, as a Lambda timeout`);
  return seconds;
}
