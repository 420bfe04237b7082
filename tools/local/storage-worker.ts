/**
 * The embedded S3 (s3rver) and DynamoDB (dynalite) in a worker thread of their own. Everything of
 * `npm start` shares one process; without this, the storage servers and the handlers share one
 * core: at no Zoho latency the run is bound by that core (a CPU profile of 1,000 attachments shows
 * a third of it in s3rver, dynalite and their HTTP servers). The handlers' AWS clients reach both
 * over HTTP as before; S3's notifications come back to the main thread as messages.
 */
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  createLocalDynamoDbClient,
  type DynaliteServer,
  type LocalDynamoDb,
  startDynaliteServer,
} from './dynamodb.ts';
import {
  type LocalS3,
  type LocalS3Notice,
  type LocalS3Options,
  type NotificationListener,
  type S3Notification,
  startLocalS3,
} from './s3.ts';

export interface LocalStorage {
  s3: LocalS3;
  dynamo: LocalDynamoDb;
}

type StorageOptions = Omit<LocalS3Options, 'log'> & {
  /** Where DynamoDB keeps its tables (dynamodb.ts); default in memory. */
  dynamoPath?: string | undefined;
  /** The local DynamoDB's port; default 0 (any free one). */
  dynamodbPort?: number | undefined;
};

type FromWorker =
  | { type: 'ready'; s3: { endpoint: string; port: number }; dynamoEndpoint: string }
  | { type: 'failed'; message: string; code?: string | undefined; port?: number | undefined }
  | { type: 'notification'; id: number; notification: S3Notification }
  | { type: 'notice'; notice: LocalS3Notice }
  | { type: 'closed' };

/**
 * Starts the worker; fails as startLocalS3 would (an EADDRINUSE error keeps its code and port).
 * Should the worker stop later, `onStopped` says why.
 */
export async function startLocalStorage(
  options: StorageOptions,
  onStopped: (error: Error) => void = () => undefined,
): Promise<LocalStorage> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: options });
  const listeners = new Set<NotificationListener>();
  const notices = new Set<(notice: LocalS3Notice) => void>();
  let closing: Promise<void> | undefined;
  const ready = await new Promise<Extract<FromWorker, { type: 'ready' }>>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') resolve(message);
      if (message.type === 'failed') {
        reject(Object.assign(new Error(message.message), { code: message.code, port: message.port }));
        void worker.terminate();
      }
      if (message.type === 'notification') void queued(message.id, message.notification);
      if (message.type === 'notice') for (const listener of notices) listener(message.notice);
    });
    worker.once('error', (error) => {
      reject(error);
      onStopped(new Error(`The embedded S3 and DynamoDB stopped: ${error.message}`, { cause: error }));
    });
    worker.once('exit', (code) => {
      reject(new Error(`The storage worker stopped (exit ${code})`));
      if (!closing)
        onStopped(new Error(`The embedded S3 and DynamoDB stopped (exit ${code}); restart npm start`));
    });
  });

  /**
   * The PUT is answered once every listener has taken its notification (the queues keep it on
   * disk). Until the first listener comes, notifications wait: a PUT taken while the pipeline
   * starts is not answered before its event is queued.
   */
  const held: Array<{ id: number; notification: S3Notification }> = [];
  async function queued(id: number, notification: S3Notification): Promise<void> {
    if (listeners.size === 0) {
      held.push({ id, notification });
      return;
    }
    await Promise.allSettled([...listeners].map(async (listener) => listener(notification)));
    worker.postMessage({ type: 'queued', id });
  }

  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'closed') void worker.terminate();
      });
      worker.postMessage('close');
    });
    return closing;
  };
  const client = createLocalDynamoDbClient(ready.dynamoEndpoint);
  return {
    s3: {
      endpoint: ready.s3.endpoint,
      port: ready.s3.port,
      bucket: options.bucket,
      onNotification(listener) {
        listeners.add(listener);
        for (const { id, notification } of held.splice(0)) void queued(id, notification);
        return () => listeners.delete(listener);
      },
      onNotice(listener) {
        notices.add(listener);
        return () => notices.delete(listener);
      },
      close,
    },
    dynamo: {
      endpoint: ready.dynamoEndpoint,
      client,
      async close() {
        client.destroy();
        await close();
      },
    },
  };
}

async function runWorker(port: NonNullable<typeof parentPort>, options: StorageOptions): Promise<void> {
  const send = (message: FromWorker) => port.postMessage(message);
  let s3: LocalS3 | undefined;
  let dynamo: DynaliteServer | undefined;
  try {
    dynamo = await startDynaliteServer({
      port: options.dynamodbPort ?? 0,
      ...(options.dynamoPath ? { path: options.dynamoPath } : {}),
    });
    s3 = await startLocalS3(options);
  } catch (error) {
    const { code, port: failedPort } = error as { code?: string; port?: number };
    await dynamo?.close();
    send({
      type: 'failed',
      message: error instanceof Error ? error.message : String(error),
      code,
      port: failedPort,
    });
    return;
  }
  const waiting = new Map<number, () => void>();
  let nextId = 0;
  s3.onNotification((notification) => {
    const id = nextId++;
    send({ type: 'notification', id, notification });
    return new Promise<void>((resolve) => waiting.set(id, resolve));
  });
  s3.onNotice((notice) => send({ type: 'notice', notice }));
  port.on('message', (message: 'close' | { type: 'queued'; id: number }) => {
    if (typeof message === 'object') {
      waiting.get(message.id)?.();
      waiting.delete(message.id);
      return;
    }
    if (message !== 'close') return;
    for (const resolve of waiting.values()) resolve();
    void Promise.allSettled([s3?.close(), dynamo?.close()]).then(() => send({ type: 'closed' }));
  });
  send({ type: 'ready', s3: { endpoint: s3.endpoint, port: s3.port }, dynamoEndpoint: dynamo.endpoint });
}

if (!isMainThread && parentPort && (workerData as { directory?: unknown })?.directory) {
  await runWorker(parentPort, workerData as StorageOptions);
}
