/**
 * The whole pipeline on one machine: the bucket (s3rver), a queue and an event source per kind
 * feeding the same handler code Lambda runs, DynamoDB (dynalite) for the shared token and the
 * idempotency ledger, and Zoho — the sandbox, or the real one when its credentials are in the
 * environment.
 */
import type { Context } from 'aws-lambda';
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';
import type { RetryNote } from '#lib/pipeline/deps.ts';
import type { Kind } from '#lib/pipeline/handler.ts';
import type { Outcome } from '#lib/pipeline/outcome.ts';
import { KINDS } from '#lib/routing/route.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import type { Sandbox } from '#sandbox/server.ts';
import type { OAuthCredentials } from '#zoho/types.ts';
import { DEFAULT_ZOHO_CONCURRENCY_BUDGET, splitConcurrencyBudget } from '../../infra/concurrency.ts';
import { DEFAULT_TIMEOUT_SECONDS } from '../../infra/timeouts.ts';
import { createPipelineTables, type LocalDynamoDb, releaseLeases } from './dynamodb.ts';
import { type EventSource, type SqsHandler, startEventSource } from './event-source.ts';
import { createLandingReporter, type DeadLetterReport, type Landing } from './landings.ts';
import { DEFAULT_LOCAL_DIR, localPaths, queueJournalPath } from './local-dir.ts';
import { createLocalQueue, type LocalQueue } from './queue.ts';

import {
  createLocalS3Client,
  LOCAL_REGION,
  type LocalS3,
  type LocalS3Notice,
  PIPELINE_NOTIFICATIONS,
  S3RVER_CREDENTIALS,
} from './s3.ts';
import { type SqsEndpoint, startSqsEndpoint } from './sqs-endpoint.ts';
import { startLocalStorage } from './storage-worker.ts';

export type { DeadLetterReport, Kind, Landing };

/** Queue and function names, as the stack names them. */
export const LOCAL_NAMES: Record<Kind, string> = {
  attachment: 's3-to-zoho-attachments',
  photo: 's3-to-zoho-photos',
  'bulk-write': 's3-to-zoho-bulk-write',
};

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
 * The Zoho budget the fleet shares (fleet slots in the token table, as in AWS) and each kind's
 * event source concurrency, as the stack derives it from the budget (infra/concurrency.ts).
 */
const ZOHO_BUDGET = DEFAULT_ZOHO_CONCURRENCY_BUDGET;
const MAX_CONCURRENCY = splitConcurrencyBudget({ budget: ZOHO_BUDGET, inFlightPerInvocation: 1 });
const BATCH_SIZE = 5;
const MAX_RECEIVE_COUNT = 5;
const TOKEN_TABLE = 's3-to-zoho-tokens';
const IDEMPOTENCY_TABLE = 's3-to-zoho-idempotency';
const IMPORTS_TABLE = 's3-to-zoho-imports';
/** The sandbox finishes bulk jobs in seconds; following them every minute would only make the demo wait. */
const SANDBOX_BULK_POLL_SECONDS = '2';

/** What a handler is built from: the environment its Lambda would have, and direct credentials. */
export interface HandlerSetup {
  env: Record<string, string>;
  credentials: OAuthCredentials | undefined;
  /** To be told of each outcome recorded on an object (what `npm start` prints). */
  onRecorded: (object: StoredObject, outcome: Outcome) => void;
  /** To be told of each retry within the run (what `npm start` prints). */
  onRetrying: (object: StoredObject, note: RetryNote) => void;
}

export interface LocalPipelineOptions {
  /** Settings such as ROUTES, ATTACHMENT_MAX_BYTES and the ZOHO_* credentials; default process.env. */
  env?: Record<string, string | undefined>;
  /** Default S3_PORT, else 4569. */
  s3Port?: number;
  /** Default BUCKET, else `inbox`. */
  bucket?: string;
  /** Default SANDBOX_PORT, else 8780. */
  sandboxPort?: number;
  /**
   * The folder that keeps, as AWS would through a crash, DynamoDB's tables, each queue's messages
   * and dead letters, the sandbox's state and (unless `directory` says otherwise) the objects; see
   * local-dir.ts. Default none: all but the objects in memory, for a run that is thrown away.
   */
  localDir?: string;
  /** The local DynamoDB's; default DYNAMODB_PORT, else 4567. */
  dynamodbPort?: number;
  /** The local SQS endpoint's; default SQS_PORT, else 9324. */
  sqsPort?: number;
  /** Where the objects are kept; default `s3/` in `localDir`, else `.local/s3` in the project. */
  directory?: string;
  /** The handlers' log level; default LOG_LEVEL from env, else WARN. */
  logLevel?: string;
  /**
   * Every kind's function timeout; default FUNCTION_TIMEOUT_SECONDS, else the stack's (attachments
   * 300 s, photos 120 s, bulk write 300 s).
   */
  functionTimeoutSeconds?: number;
  /**
   * How long a failed message, or one whose process died, waits before it is received again;
   * default VISIBILITY_TIMEOUT_SECONDS, else the function timeout, the least AWS allows (the stack
   * sets 6 × the timeout; locally a retry need not wait half an hour).
   */
  visibilityTimeoutSeconds?: number;
  /** Receives before the dead-letter list; default 5, as the stack. */
  maxReceiveCount?: number;
  /** Invocations at once, every kind; default the stack's (10 each: the fleet slots keep Zoho's calls within 10). */
  maxConcurrency?: number;
  /** Default 5, as the stack. */
  batchSize?: number;
  batchWindowMs?: number;
  /** S3 sends a test event to each queue when the notifications are set up; default true. */
  sendTestEvents?: boolean;
  /** Builds each kind's handler; default the real one (`createHandler(kind, await createDeps(…))`). */
  createHandler?: (kind: Kind, setup: HandlerSetup) => Promise<SqsHandler>;
}

interface PipelineEvents {
  landed: Landing;
  'dead-letter': DeadLetterReport;
  /** A key the local S3 refused (it cannot store it), or written under no watched prefix. */
  notice: LocalS3Notice;
  error: Error;
}

export type ZohoTarget = { mode: 'sandbox'; url: string } | { mode: 'real'; dc: string };

export interface LocalPipeline {
  s3Endpoint: string;
  bucket: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  /** The idempotency ledger table, where the handlers keep full reasons (`npm run status --ledger-table`). */
  ledgerTable: string;
  zoho: ZohoTarget;
  sandbox: Sandbox | undefined;
  queues: Record<Kind, LocalQueue>;
  /** Each kind's queue URL on the local SQS endpoint (for `npm run replay --queue-url`). */
  queueUrls: Record<Kind, string>;
  on<E extends keyof PipelineEvents>(event: E, listener: (value: PipelineEvents[E]) => void): () => void;
  /** Resolves when no invocation runs and no message is visible (delayed follow-ups may remain). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startLocalPipeline(options: LocalPipelineOptions = {}): Promise<LocalPipeline> {
  const env = options.env ?? process.env;
  const zohoChoice = chooseZoho(env);
  const bucket = options.bucket ?? env.BUCKET ?? DEFAULT_BUCKET;
  const timeouts = {
    functionTimeoutSeconds:
      options.functionTimeoutSeconds ?? secondsFrom(env.FUNCTION_TIMEOUT_SECONDS, 'FUNCTION_TIMEOUT_SECONDS'),
    visibilityTimeoutSeconds:
      options.visibilityTimeoutSeconds ??
      secondsFrom(env.VISIBILITY_TIMEOUT_SECONDS, 'VISIBILITY_TIMEOUT_SECONDS'),
  };
  const settings = Object.fromEntries(
    KINDS.map((kind) => [kind, eventSourceSettings(kind, options, timeouts)]),
  ) as Record<Kind, EventSourceSettings>;
  useLocalAwsCredentials();
  const events = createEvents();
  const shutdown = createShutdown();

  try {
    const services = await startServices({ options, env, bucket, zohoChoice, settings }, shutdown, (error) =>
      events.emit('error', error),
    );
    const { s3, queues, sandbox } = services;
    const s3Client = createLocalS3Client(s3.endpoint);
    shutdown.add(() => s3Client.destroy());
    const landings = createLandingReporter(s3Client, (landing) => events.emit('landed', landing));
    // At once: the PUTs taken meanwhile wait for their events to be queued (storage-worker.ts).
    s3.onNotification(({ rule, key, event }) => {
      landings.written(key, event.Records[0]?.eventTime);
      queues[rule.target as Kind].send(JSON.stringify(event));
    });
    const logLevel = options.logLevel ?? env.LOG_LEVEL ?? 'WARN';
    const createHandler =
      options.createHandler ?? ((kind, setup) => createRealHandler(kind, setup, logLevel));
    const credentials = zohoChoice.mode === 'real' ? zohoChoice.credentials : sandbox?.credentials;

    const sources: EventSource[] = [];
    for (const kind of KINDS) {
      const handler = await createHandler(kind, {
        env: handlerEnv(kind, services, settings[kind]),
        credentials,
        onRecorded: (object, outcome) => landings.recorded(kind, object.bucket, object.key, outcome),
        onRetrying: (object, note) => landings.retrying(kind, object.bucket, object.key, note),
      });
      const source = startEventSource({
        queue: queues[kind],
        handler: (event, context) => {
          landings.received(event.Records);
          return handler(event, context);
        },
        functionName: LOCAL_NAMES[kind],
        timeoutMs: settings[kind].timeoutMs,
        maxConcurrency: settings[kind].maxConcurrency,
        batchSize: settings[kind].batchSize,
        batchWindowMs: options.batchWindowMs ?? 0,
      });
      sources.push(source);
      shutdown.add(() => source.stop());
      source.onInvocation((invocation) => {
        void landings
          .report(kind, invocation, {
            afterMs: settings[kind].visibilityTimeoutMs,
            maxReceives: settings[kind].maxReceiveCount,
          })
          .catch((error: unknown) => events.emit('error', asError(error)));
      });
      queues[kind].onDeadLetter((deadLetter) =>
        events.emit('dead-letter', landings.deadLettered(kind, deadLetter)),
      );
    }

    // The bulk write results land under their own prefix, on no route by design: not worth a notice.
    const resultsPrefix = env.RESULTS_PREFIX || DEFAULT_RESULTS_PREFIX;
    s3.onNotice((notice) => {
      if (notice.type !== 'unrouted' || !notice.key.startsWith(resultsPrefix)) events.emit('notice', notice);
    });
    if (options.sendTestEvents ?? true) {
      for (const queue of Object.values(queues)) queue.send(JSON.stringify(s3TestEvent(bucket)));
    }

    return {
      s3Endpoint: s3.endpoint,
      bucket,
      sqsEndpoint: services.sqs.url,
      dynamodbEndpoint: services.dynamo.endpoint,
      ledgerTable: IDEMPOTENCY_TABLE,
      zoho: sandbox ? { mode: 'sandbox', url: sandbox.url } : { mode: 'real', dc: env.ZOHO_DC ?? '' },
      sandbox,
      queues,
      queueUrls: Object.fromEntries(
        KINDS.map((kind) => [kind, services.sqs.queueUrl(LOCAL_NAMES[kind])]),
      ) as Record<Kind, string>,
      on: events.on,
      async idle() {
        await Promise.all(sources.map((source) => source.idle()));
      },
      close: shutdown.close,
    };
  } catch (error) {
    await shutdown.close();
    throw error;
  }
}

type Listeners = { [E in keyof PipelineEvents]: Set<(value: PipelineEvents[E]) => void> };

function createEvents(): Pick<LocalPipeline, 'on'> & {
  emit<E extends keyof PipelineEvents>(event: E, value: PipelineEvents[E]): void;
} {
  const listeners: Listeners = {
    landed: new Set(),
    'dead-letter': new Set(),
    notice: new Set(),
    error: new Set(),
  };
  return {
    on(event, listener) {
      listeners[event].add(listener);
      return () => listeners[event].delete(listener);
    },
    emit(event, value) {
      for (const listener of listeners[event]) listener(value);
    },
  };
}

interface Shutdown {
  add(closer: () => Promise<void> | void): void;
  /** Stops everything, in reverse order of start, even when one step fails; then throws the first failure. */
  close(): Promise<void>;
}

function createShutdown(): Shutdown {
  const closers: Array<() => Promise<void> | void> = [];
  return {
    add(closer) {
      closers.push(closer);
    },
    async close() {
      const failures: unknown[] = [];
      for (const closer of closers.splice(0).reverse()) {
        try {
          await closer();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw failures[0];
    },
  };
}

/** The local stand-ins for AWS and Zoho the handlers talk to. */
interface LocalServices {
  env: Record<string, string | undefined>;
  sandbox: Sandbox | undefined;
  dynamo: LocalDynamoDb;
  queues: Record<Kind, LocalQueue>;
  sqs: SqsEndpoint;
  s3: LocalS3;
}

interface ServicesSetup {
  options: LocalPipelineOptions;
  env: Record<string, string | undefined>;
  bucket: string;
  zohoChoice: ZohoChoice;
  settings: Record<Kind, EventSourceSettings>;
}

async function startServices(
  setup: ServicesSetup,
  shutdown: Shutdown,
  onStopped: (error: Error) => void,
): Promise<LocalServices> {
  const { options, env, settings } = setup;
  const kept = options.localDir ? localPaths(options.localDir) : undefined;
  const sandbox =
    setup.zohoChoice.mode === 'sandbox'
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
    tokenTable: TOKEN_TABLE,
    idempotencyTable: IDEMPOTENCY_TABLE,
    importsTable: IMPORTS_TABLE,
  });
  if (kept) await releaseLeases(dynamo.client, TOKEN_TABLE, { forgetAccessTokens: sandbox !== undefined });

  const queues = Object.fromEntries(
    KINDS.map((kind) => [
      kind,
      createLocalQueue({
        name: LOCAL_NAMES[kind],
        visibilityTimeoutMs: settings[kind].visibilityTimeoutMs,
        maxReceiveCount: settings[kind].maxReceiveCount,
        ...(options.localDir ? { journalPath: queueJournalPath(options.localDir, LOCAL_NAMES[kind]) } : {}),
      }),
    ]),
  ) as Record<Kind, LocalQueue>;
  shutdown.add(() => {
    for (const queue of Object.values(queues)) queue.close();
  });
  const sqs = await startSqsEndpoint({
    queues: Object.values(queues),
    port: options.sqsPort ?? numberFrom(env.SQS_PORT, 'SQS_PORT') ?? DEFAULT_SQS_PORT,
  });
  shutdown.add(() => sqs.close());

  return { env, sandbox, dynamo, queues, sqs, s3 };
}

/** A kind's handler environment: the stack's settings, pointed at the local services. */
function handlerEnv(
  kind: Kind,
  services: LocalServices,
  settings: EventSourceSettings,
): Record<string, string> {
  const { env, s3, dynamo, sqs, sandbox } = services;
  return definedOnly({
    ...env,
    AWS_REGION: LOCAL_REGION,
    S3_ENDPOINT: s3.endpoint,
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    SQS_ENDPOINT: sqs.url,
    FOLLOW_UP_QUEUE_URL: kind === 'bulk-write' ? sqs.queueUrl(LOCAL_NAMES[kind]) : undefined,
    TOKEN_TABLE,
    IDEMPOTENCY_TABLE,
    IMPORTS_TABLE: kind === 'bulk-write' ? IMPORTS_TABLE : undefined,
    POWERTOOLS_SERVICE_NAME: LOCAL_NAMES[kind],
    // One handler here stands for all the kind's concurrent Lambdas, so it gets all their Zoho calls.
    ZOHO_MAX_IN_FLIGHT: String(settings.maxConcurrency * Number(env.ZOHO_MAX_IN_FLIGHT ?? 1)),
    ZOHO_CONCURRENCY_BUDGET: env.ZOHO_CONCURRENCY_BUDGET ?? String(ZOHO_BUDGET),
    ...(sandbox
      ? {
          ZOHO_DC: 'us',
          ZOHO_ACCOUNTS_URL: sandbox.accountsUrl,
          ZOHO_API_URL: sandbox.apiUrl,
          ZOHO_UPLOAD_URL: sandbox.uploadUrl,
          BULK_POLL_SECONDS: env.BULK_POLL_SECONDS ?? SANDBOX_BULK_POLL_SECONDS,
        }
      : {}),
  });
}

interface EventSourceSettings {
  timeoutMs: number;
  visibilityTimeoutMs: number;
  maxConcurrency: number;
  batchSize: number;
  maxReceiveCount: number;
}

function eventSourceSettings(
  kind: Kind,
  options: LocalPipelineOptions,
  timeouts: { functionTimeoutSeconds: number | undefined; visibilityTimeoutSeconds: number | undefined },
): EventSourceSettings {
  const timeoutSeconds = timeouts.functionTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS[kind];
  const visibilityTimeoutSeconds = timeouts.visibilityTimeoutSeconds ?? timeoutSeconds;
  if (visibilityTimeoutSeconds < timeoutSeconds) {
    throw new Error(
      `The visibility timeout (${visibilityTimeoutSeconds} s) must be at least the ${kind} function timeout (${timeoutSeconds} s), as AWS requires`,
    );
  }
  return {
    timeoutMs: timeoutSeconds * 1000,
    visibilityTimeoutMs: visibilityTimeoutSeconds * 1000,
    maxConcurrency: options.maxConcurrency ?? MAX_CONCURRENCY[kind],
    batchSize: options.batchSize ?? BATCH_SIZE,
    maxReceiveCount: options.maxReceiveCount ?? MAX_RECEIVE_COUNT,
  };
}

type ZohoChoice = { mode: 'sandbox' } | { mode: 'real'; credentials: OAuthCredentials };

const ZOHO_CREDENTIAL_SETTINGS = ['ZOHO_CLIENT_ID', 'ZOHO_CLIENT_SECRET', 'ZOHO_REFRESH_TOKEN'] as const;

/** The real Zoho when its credentials and data centre are all set, the sandbox when no credential is. */
export function chooseZoho(env: Record<string, string | undefined>): ZohoChoice {
  if (!ZOHO_CREDENTIAL_SETTINGS.some((name) => env[name])) return { mode: 'sandbox' };
  const needed = [...ZOHO_CREDENTIAL_SETTINGS, 'ZOHO_DC'];
  const missing = needed.filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new Error(
      `To push to the real Zoho set ${needed.join(', ')} (missing: ${missing.join(', ')}); set no credential to use the sandbox.`,
    );
  }
  return {
    mode: 'real',
    credentials: {
      clientId: env.ZOHO_CLIENT_ID ?? '',
      clientSecret: env.ZOHO_CLIENT_SECRET ?? '',
      refreshToken: env.ZOHO_REFRESH_TOKEN ?? '',
    },
  };
}

async function createRealHandler(kind: Kind, setup: HandlerSetup, logLevel: string): Promise<SqsHandler> {
  const [{ loadConfig }, { createDeps }, { createHandler }, { Logger }] = await Promise.all([
    import('#lib/config.ts'),
    import('#lib/pipeline/deps.ts'),
    import('#lib/pipeline/handler.ts'),
    import('@aws-lambda-powertools/logger'),
  ]);
  const config = loadConfig(setup.env);
  const log = new Logger({ serviceName: LOCAL_NAMES[kind], logLevel: logLevel as never });
  const deps = await createDeps(kind, config, {
    ...(setup.credentials ? { credentials: setup.credentials } : {}),
    log,
    onRecorded: setup.onRecorded,
    onRetrying: setup.onRetrying,
  });
  const running = new Set<Context>();
  const handler = createHandler(kind, {
    ...deps,
    registerContext: (context) => deps.registerContext(earliest(context, running)),
  });
  return async (event, context) => {
    running.add(context);
    try {
      return await handler(event, context);
    } finally {
      running.delete(context);
    }
  };
}

/**
 * Lambda runs one invocation per container, so the idempotency ledger marks a push in progress
 * until its own invocation's deadline. Here one handler takes all of a kind's invocations at once,
 * and the last one registered would lend its later deadline to the others: a message whose run
 * died would come back (after the function timeout) to a mark still in force, and fail once more.
 * The mark takes the earliest deadline of the invocations running, never later than its own.
 */
function earliest(context: Context, running: ReadonlySet<Context>): Context {
  // At least 1 ms: with no time left Powertools would set no end to the mark at all.
  const remaining = () =>
    Math.max(1, Math.min(...[context, ...running].map((each) => each.getRemainingTimeInMillis())));
  return { ...context, getRemainingTimeInMillis: remaining };
}

/**
 * The handlers build their AWS clients from the default credential chain, as in Lambda; here every
 * AWS service is local and s3rver accepts only its own dummy keys, so those are the ones in use.
 */
function useLocalAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  // With a profile set, the SDK skips the environment's keys.
  delete process.env.AWS_PROFILE;
  process.env.AWS_REGION = LOCAL_REGION;
}

/** What S3 sends to a queue when a notification to it is set up. */
function s3TestEvent(bucket: string) {
  return {
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date().toISOString(),
    Bucket: bucket,
    RequestId: 'LOCALTESTEVENT00',
    HostId: 'local',
  };
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
