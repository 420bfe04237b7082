/**
 * `npm start`: the whole pipeline on this machine. Drop files in the local bucket and watch them
 * land in the Zoho sandbox (or the real Zoho, with ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET,
 * ZOHO_REFRESH_TOKEN and ZOHO_DC set). One run per state folder (.local, or LOCAL_DIR).
 */
import { banner, formatDeadLetter, formatLanding, formatNotice } from '#tools/local/console.ts';
import {
  clearLocalDir,
  describeLocalRun,
  type LocalDirLock,
  localDir,
  lockLocalDir,
  writeLocalRun,
} from '#tools/local/local-dir.ts';
import { type LocalPipeline, startLocalPipeline } from '#tools/local/pipeline.ts';
import { PIPELINE_NOTIFICATIONS, S3RVER_CREDENTIALS } from '#tools/local/s3.ts';

// The metrics' EMF lines are for CloudWatch; here they would bury the one line per file.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const directory = localDir();
let lock: LocalDirLock | undefined;
let pipeline: LocalPipeline;
try {
  lock = await lockLocalDir(directory);
  // What AWS keeps through a crash is kept in the folder: `--fresh` forgets it all first.
  if (process.argv.includes('--fresh')) await clearLocalDir(directory);
  pipeline = await startLocalPipeline({ localDir: directory });
  await writeLocalRun(directory, describeLocalRun(pipeline, PIPELINE_NOTIFICATIONS));
} catch (error) {
  console.error(`Could not start: ${explain(error)}`);
  await lock?.release();
  process.exit(1);
}

console.log(
  banner({
    s3Endpoint: pipeline.s3Endpoint,
    bucket: pipeline.bucket,
    zoho:
      pipeline.zoho.mode === 'sandbox'
        ? `sandbox at ${pipeline.zoho.url}`
        : `real Zoho, DC ${pipeline.zoho.dc}`,
    seeded: pipeline.sandbox?.seed as Record<string, readonly string[] | undefined> | undefined,
    sandboxUrl: pipeline.zoho.mode === 'sandbox' ? pipeline.zoho.url : undefined,
    localDir: directory,
    credentials: S3RVER_CREDENTIALS,
    routes: process.env.ROUTES || undefined,
    logLevel: process.env.LOG_LEVEL ?? 'WARN',
  }),
);
pipeline.on('landed', (landing) => console.log(formatLanding(landing, clock())));
pipeline.on('dead-letter', (report) => console.log(formatDeadLetter(report, clock())));
pipeline.on('notice', (notice) => console.log(formatNotice(notice, clock())));
pipeline.on('error', (error) => console.error(`${clock()}  error: ${error.message}`));

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nStopping…');
    // Whatever still holds the event loop after a clean close must not keep the terminal.
    setTimeout(() => process.exit(0), 5_000).unref();
    pipeline
      .close()
      .finally(() => lock?.release())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`Stopped with an error: ${explain(error)}`);
          process.exit(1);
        },
      );
  });
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

function explain(error: unknown): string {
  const code = (error as { code?: string }).code;
  const port = (error as { port?: number }).port;
  if (code === 'EADDRINUSE') {
    return `port ${port ?? ''} is in use (another npm start?). Choose others with S3_PORT, SANDBOX_PORT, DYNAMODB_PORT and SQS_PORT.`;
  }
  return error instanceof Error ? error.message : String(error);
}
