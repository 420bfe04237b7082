/**
 * `npm start`: the whole pipeline on this machine. Drop files in the local bucket and watch them
 * land in the Zoho sandbox (or the real Zoho, with ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET,
 * ZOHO_REFRESH_TOKEN and ZOHO_DC set).
 */
import { KINDS } from '#lib/routing/route.ts';
import { type Landing, type LocalPipeline, startLocalPipeline } from '#tools/local/pipeline.ts';
import { S3RVER_CREDENTIALS } from '#tools/local/s3.ts';

// The metrics' EMF lines are for CloudWatch; here they would bury the one line per file.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

let pipeline: LocalPipeline;
try {
  pipeline = await startLocalPipeline();
} catch (error) {
  console.error(`Could not start: ${explain(error)}`);
  process.exit(1);
}

printBanner(pipeline);
pipeline.on('landed', (landing) => console.log(formatLanding(landing)));
pipeline.on('dead-letter', ({ kind, keys, deadLetter }) => {
  console.log(
    `${clock()}  ${kind.padEnd(10)}  ${keys.join(', ') || deadLetter.messageId}  → dead-letter queue after ${deadLetter.receiveCount} receives: ${deadLetter.lastError ?? 'unknown error'}`,
  );
});
pipeline.on('notice', (notice) => {
  if (notice.type === 'refused') {
    console.log(`${clock()}  refused     ${notice.key.slice(0, 60)}…  ${notice.reason}`);
  } else {
    console.log(`${clock()}  no route    ${notice.key}  (${notice.reason})`);
  }
});
pipeline.on('error', (error) => console.error(`${clock()}  error: ${error.message}`));

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nStopping…');
    // Whatever still holds the event loop after a clean close must not keep the terminal.
    setTimeout(() => process.exit(0), 5_000).unref();
    pipeline.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`Stopped with an error: ${explain(error)}`);
        process.exit(1);
      },
    );
  });
}

function printBanner(p: LocalPipeline): void {
  const seeded = p.sandbox?.seed as Record<string, readonly string[] | undefined> | undefined;
  const leadId = seeded?.Leads?.[0] ?? '<record id>';
  const zoho = p.zoho.mode === 'sandbox' ? `sandbox at ${p.zoho.url}` : `real Zoho, DC ${p.zoho.dc}`;
  const credentials = `AWS_ACCESS_KEY_ID=${S3RVER_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${S3RVER_CREDENTIALS.secretAccessKey}`;
  const lines = [
    '',
    's3-to-zoho is running on this machine',
    '',
    `  S3 endpoint  ${p.s3Endpoint}`,
    `  bucket       ${p.bucket}`,
    `  Zoho         ${zoho}`,
    '',
    'Drop a file:',
    `  ${credentials} \\`,
    `    aws s3 cp ./file.pdf s3://${p.bucket}/attachments/Leads/${leadId}/file.pdf --endpoint-url ${p.s3Endpoint}`,
    '',
    `  Any S3 client works: endpoint ${p.s3Endpoint}, path-style addressing, the dummy credentials above.`,
    `  Photos:     photos/Leads/${leadId}.png      Bulk write: bulk-write/Leads/insert/leads.zip (or .csv)`,
    `  A file-upload field: fields/Leads/${leadId}/Documents/file.pdf (the sandbox's Leads have Documents)`,
    '  The outcome is written on each object as tags (zoho-status, zoho-id, zoho-error, zoho-reason).',
  ];
  if (seeded && p.zoho.mode === 'sandbox') {
    const summary = ['Leads', 'Contacts', 'Accounts']
      .filter((module) => seeded[module]?.length)
      .map((module) => `${module} ${seeded[module]?.slice(0, 2).join(', ')}`);
    lines.push(`  Seeded records: ${summary.join('; ')}; all in ${p.zoho.url}/__sandbox/state`);
  }
  lines.push(
    `  Handler logs: LOG_LEVEL=${process.env.LOG_LEVEL ?? 'WARN'} (DEBUG for more, SILENT for none)`,
    '',
    'Read the outcomes (in a second shell):',
    `  npm run status -- --bucket ${p.bucket} --endpoint ${p.s3Endpoint} --dynamodb-endpoint ${p.dynamodbEndpoint} --ledger-table ${p.ledgerTable}`,
    'Push failed ones again once the cause is fixed (one queue per kind):',
    `  npm run replay -- --bucket ${p.bucket} --prefix attachments/ --queue-url ${p.queueUrls.attachment} --endpoint ${p.s3Endpoint} --sqs-endpoint ${p.sqsEndpoint}`,
    `  queues: ${KINDS.map((kind) => `${kind} ${p.queueUrls[kind]}`).join('  ')}`,
    '  Objects and tags are kept in .local/ across restarts; the sandbox starts empty each time',
    '  (its ids start over): rm -rf .local to start clean with it.',
  );
  lines.push('  Try all three kinds at once: npm run demo', '', 'Waiting for files (Ctrl-C stops)…', '');
  console.log(lines.join('\n'));
}

function formatLanding(landing: Landing): string {
  const target = [landing.module, landing.record].filter(Boolean).join('/') || landing.key;
  const details = [
    landing.zohoId ? `zoho id ${landing.zohoId}` : undefined,
    landing.error ? `${landing.error}${landing.reason ? `: ${landing.reason}` : ''}` : undefined,
    landing.attempt > 1 ? `attempt ${landing.attempt}` : undefined,
  ].filter(Boolean);
  return [
    clock(),
    landing.kind.padEnd(10),
    target.padEnd(30),
    landing.status.padEnd(8),
    `${(landing.durationMs / 1000).toFixed(1)} s`.padStart(7),
    ` ${landing.key}`,
    details.length > 0 ? ` (${details.join(', ')})` : '',
  ].join('  ');
}

function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

function explain(error: unknown): string {
  const code = (error as { code?: string }).code;
  const port = (error as { port?: number }).port;
  if (code === 'EADDRINUSE') {
    return `port ${port ?? ''} is in use (another npm start?). Choose others with S3_PORT and SANDBOX_PORT.`;
  }
  return error instanceof Error ? error.message : String(error);
}
