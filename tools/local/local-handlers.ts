/**
 * The handlers `npm start` runs: the very ones Lambda runs, built from the environment the stack
 * would give them, with the sandbox's or the real Zoho's credentials given directly.
 */
import type { Context } from 'aws-lambda';
import { type Kind, serviceName } from '#lib/kinds.ts';
import type { RetryNote } from '#lib/pipeline/deps.ts';
import type { Outcome } from '#lib/pipeline/outcome.ts';
import type { StoredObject } from '#lib/s3/object.ts';
import type { OAuthCredentials } from '#zoho/types.ts';
import type { SqsHandler } from './event-source.ts';
import { LOCAL_REGION, S3RVER_CREDENTIALS } from './s3.ts';

/** What a handler is built from: the environment its Lambda would have, and direct credentials. */
export interface HandlerSetup {
  env: Record<string, string>;
  credentials: OAuthCredentials | undefined;
  /** To be told of each outcome recorded on an object (what `npm start` prints). */
  onRecorded: (object: StoredObject, outcome: Outcome) => void;
  /** To be told of each retry within the run (what `npm start` prints). */
  onRetrying: (object: StoredObject, note: RetryNote) => void;
}

export type ZohoChoice = { mode: 'sandbox' } | { mode: 'real'; credentials: OAuthCredentials };

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

export async function createRealHandler(
  kind: Kind,
  setup: HandlerSetup,
  logLevel: string,
): Promise<SqsHandler> {
  const [{ loadConfig }, { createDeps }, { createHandler }, { Logger }] = await Promise.all([
    import('#lib/config.ts'),
    import('#lib/pipeline/deps.ts'),
    import('#lib/pipeline/handler.ts'),
    import('@aws-lambda-powertools/logger'),
  ]);
  const config = loadConfig(setup.env);
  const log = new Logger({ serviceName: serviceName(kind), logLevel: logLevel as never });
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
export function useLocalAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  // With a profile set, the SDK skips the environment's keys.
  delete process.env.AWS_PROFILE;
  process.env.AWS_REGION = LOCAL_REGION;
}
