/**
 * The whole pipeline on one machine: the bucket (s3rver), a queue and an event source per kind
 * feeding the same handler code Lambda runs, DynamoDB (dynalite) for the shared token and the
 * idempotency ledger, and Zoho — the sandbox, or the real one when its credentials are in the
 * environment. The services are started by local-services.ts, the handlers built by local-handlers.ts.
 */
import { DEFAULT_RESULTS_PREFIX } from '#lib/config.ts';
import { KINDS, type Kind, localName } from '#lib/kinds.ts';
import type { Sandbox } from '#sandbox/server.ts';
import { type EventSource, type SqsHandler, startEventSource } from './event-source.ts';
import {
  createLandingReporter,
  type DeadLetterReport,
  type Landing,
  type LandingReporter,
} from './landings.ts';
import {
  chooseZoho,
  createRealHandler,
  type HandlerSetup,
  useLocalAwsCredentials,
} from './local-handlers.ts';
import {
  DEFAULT_BUCKET,
  type EventSourceSettings,
  eventSourceSettings,
  handlerEnv,
  type LocalServices,
  queueUrls,
  type Shutdown,
  startServices,
  TABLES,
} from './local-services.ts';
import type { LocalQueue } from './queue.ts';
import { createLocalS3Client, type LocalS3Notice } from './s3.ts';

export { chooseZoho, type HandlerSetup } from './local-handlers.ts';
export {
  DEFAULT_BUCKET,
  DEFAULT_DIRECTORY,
  DEFAULT_DYNAMODB_PORT,
  DEFAULT_S3_PORT,
  DEFAULT_SANDBOX_PORT,
  DEFAULT_SQS_PORT,
} from './local-services.ts';
export type { DeadLetterReport, Kind, Landing };

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
  const settings = eventSourceSettings(options, env);
  useLocalAwsCredentials();
  const events = createEvents();
  const shutdown = createShutdown();

  try {
    const services = await startServices(
      { options, env, bucket, sandbox: zohoChoice.mode === 'sandbox', settings },
      shutdown,
      (error) => events.emit('error', error),
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
    const kindRun: KindRun = {
      services,
      landings,
      events,
      shutdown,
      batchWindowMs: options.batchWindowMs ?? 0,
      createHandler: options.createHandler ?? ((kind, setup) => createRealHandler(kind, setup, logLevel)),
      credentials: zohoChoice.mode === 'real' ? zohoChoice.credentials : sandbox?.credentials,
    };
    const sources: EventSource[] = [];
    for (const kind of KINDS) sources.push(await startKind(kind, settings[kind], kindRun));

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
      ledgerTable: TABLES.idempotency,
      zoho: sandbox ? { mode: 'sandbox', url: sandbox.url } : { mode: 'real', dc: env.ZOHO_DC ?? '' },
      sandbox,
      queues,
      queueUrls: queueUrls(services.sqs),
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

/** What every kind's handler and event source are started with. */
interface KindRun {
  services: LocalServices;
  landings: LandingReporter;
  events: ReturnType<typeof createEvents>;
  shutdown: Shutdown;
  batchWindowMs: number;
  createHandler: (kind: Kind, setup: HandlerSetup) => Promise<SqsHandler>;
  credentials: HandlerSetup['credentials'];
}

/** A kind's handler fed by its queue's event source, each invocation and dead letter reported. */
async function startKind(kind: Kind, settings: EventSourceSettings, run: KindRun): Promise<EventSource> {
  const { services, landings, events } = run;
  const handler = await run.createHandler(kind, {
    env: handlerEnv(kind, services, settings),
    credentials: run.credentials,
    onRecorded: (object, outcome) => landings.recorded(kind, object.bucket, object.key, outcome),
    onRetrying: (object, note) => landings.retrying(kind, object.bucket, object.key, note),
  });
  const source = startEventSource({
    queue: services.queues[kind],
    handler: (event, context) => {
      landings.received(event.Records);
      return handler(event, context);
    },
    functionName: localName(kind),
    timeoutMs: settings.timeoutMs,
    maxConcurrency: settings.maxConcurrency,
    batchSize: settings.batchSize,
    batchWindowMs: run.batchWindowMs,
  });
  run.shutdown.add(() => source.stop());
  source.onInvocation((invocation) => {
    void landings
      .report(kind, invocation, {
        afterMs: settings.visibilityTimeoutMs,
        maxReceives: settings.maxReceiveCount,
      })
      .catch((error: unknown) => events.emit('error', asError(error)));
  });
  services.queues[kind].onDeadLetter((deadLetter) =>
    events.emit('dead-letter', landings.deadLettered(kind, deadLetter)),
  );
  return source;
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

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
