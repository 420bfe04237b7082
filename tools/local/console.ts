/**
 * What `npm start` prints: the banner (where to drop files, how to read the outcomes) and one line
 * per outcome, retry, dead letter and notice. Pure: strings in, strings out.
 */
import { compileRoutes, DEFAULT_ROUTES, type Kind, type RouteDefinition } from '#lib/routing/route.ts';
import type { DeadLetterReport, Landing } from './landings.ts';
import type { LocalS3Notice } from './s3.ts';

/** What the banner tells of a running pipeline. */
export interface BannerFacts {
  s3Endpoint: string;
  bucket: string;
  /** `sandbox at <url>` or `real Zoho, DC eu`. */
  zoho: string;
  /** The sandbox's seeded record ids by module; undefined with the real Zoho. */
  seeded: Record<string, readonly string[] | undefined> | undefined;
  /** Where the sandbox shows its state. */
  sandboxUrl: string | undefined;
  /** The folder the run keeps its state in (`.local`, or LOCAL_DIR). */
  localDir: string;
  /** The dummy key pair the local S3 takes. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** ROUTES, when set. */
  routes: string | undefined;
  logLevel: string;
}

/** A record id for the examples when the sandbox has none to show (the real Zoho). */
const RECORD_PLACEHOLDER = '<record id>';

export function banner(facts: BannerFacts): string {
  const examples = exampleKeys(routesInForce(facts.routes), facts.seeded);
  // The simplest to try: a file for a record named in the key (no look-up).
  const first = examples.find((example) => example.kind === 'attachment' && example.byId) ?? examples[0];
  const credentials = `AWS_ACCESS_KEY_ID=${facts.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${facts.credentials.secretAccessKey}`;
  const lines = [
    '',
    's3-to-zoho is running on this machine',
    '',
    `  S3 endpoint  ${facts.s3Endpoint}`,
    `  bucket       ${facts.bucket}`,
    `  Zoho         ${facts.zoho}`,
    `  state        ${facts.localDir}`,
    '',
    'Drop a file:',
    `  ${credentials} \\`,
    `    aws s3 cp ./${fileOf(first?.key)} s3://${facts.bucket}/${first?.key ?? ''} --endpoint-url ${facts.s3Endpoint}`,
    '',
    `  Any S3 client works: endpoint ${facts.s3Endpoint}, path-style addressing, the dummy credentials above.`,
    `  The routes${facts.routes ? ' (ROUTES)' : ''}, with an example key each:`,
    ...examples.map((example) => `    ${example.name.padEnd(20)} ${example.key}`),
    '  The outcome is written on each object as tags (zoho-status, zoho-id, zoho-error, zoho-reason).',
  ];
  if (facts.seeded && facts.sandboxUrl) {
    const summary = ['Leads', 'Contacts', 'Accounts']
      .filter((module) => facts.seeded?.[module]?.length)
      .map((module) => `${module} ${facts.seeded?.[module]?.slice(0, 2).join(', ')}`);
    lines.push(`  Seeded records: ${summary.join('; ')}; all in ${facts.sandboxUrl}/__sandbox/state`);
  }
  lines.push(
    `  Handler logs: LOG_LEVEL=${facts.logLevel} (DEBUG for more, SILENT for none)`,
    '',
    'In a second shell (they find this run through its state folder):',
    '  npm run status -- --local                                 the outcomes, with the failures in full',
    '  npm run replay -- --local --prefix attachments/           push the failed ones again, once fixed',
    '  npm run demo                                              try all three kinds at once',
    '',
    `  Objects, queues, the ledger and the sandbox are kept in ${facts.localDir} across restarts,`,
    '  crashes too: npm start -- --fresh (or rm -rf that folder) starts clean.',
    '',
    'Waiting for files (Ctrl-C stops)…',
    '',
  );
  return lines.join('\n');
}

/** The route table the handlers use: ROUTES when set (already checked at start), else the default one. */
export function routesInForce(routes: string | undefined): RouteDefinition[] {
  const table = routes ? (JSON.parse(routes) as unknown) : DEFAULT_ROUTES;
  return compileRoutes(table).routes.map((route) => route.definition);
}

/** Each route's name, kind and a key it takes, made from its pattern (a record id: the module's first seeded one). */
export function exampleKeys(
  routes: readonly RouteDefinition[],
  seeded: Record<string, readonly string[] | undefined> | undefined,
): Array<{ name: string; kind: Kind; key: string; byId: boolean }> {
  const values: Record<string, string> = {
    field: 'Email',
    value: 'ana@example.com',
    fieldApiName: 'Documents',
    ext: 'png',
  };
  return routes.map((route) => {
    const file = EXAMPLE_FILES[route.kind];
    const module = route.module ?? 'Leads';
    const key = route.pattern
      .replace('{module}', module)
      .replace('{recordId}', seeded?.[module]?.[0] ?? RECORD_PLACEHOLDER)
      .replace('{operation}', route.operation ?? 'insert')
      .replace(/\{fileName\}(?=\.)/, file.replace(/\.[^.]*$/, ''))
      .replace('{fileName}', file)
      .replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
    return { name: route.name, kind: route.kind, key, byId: route.pattern.includes('{recordId}') };
  });
}

const EXAMPLE_FILES: Record<Kind, string> = {
  attachment: 'file.pdf',
  photo: 'photo.png',
  'bulk-write': 'leads.zip',
};

function fileOf(key: string | undefined): string {
  return key?.split('/').at(-1) ?? 'file.pdf';
}

/** One line for an outcome or a retry. */
export function formatLanding(landing: Landing, clock: string): string {
  const target = [landing.module, landing.record].filter(Boolean).join('/') || landing.key;
  const told = details(landing);
  return [
    clock,
    landing.kind.padEnd(10),
    target.padEnd(30),
    landing.status.padEnd(8),
    `${(landing.durationMs / 1000).toFixed(1)} s`.padStart(7),
    ` ${landing.key}${told.length > 0 ? ` (${told.join(', ')})` : ''}`,
  ].join('  ');
}

function details(landing: Landing): string[] {
  const { bulk } = landing;
  const problem = landing.error
    ? `${landing.error}${landing.reason ? `: ${landing.reason}` : ''}`
    : landing.reason;
  return [
    landing.status === 'retrying'
      ? `retrying in ${seconds(landing.retryInMs ?? 0)}${problem ? `: ${problem}` : ''}`
      : problem,
    bulk
      ? [
          `${landing.status}, ${bulk.added} added`,
          bulk.updated ? `${bulk.updated} updated` : undefined,
          bulk.skipped ? `${bulk.skipped} skipped` : undefined,
          `${bulk.failed} failed`,
          bulk.results ? `results at s3://${landing.bucket}/${bulk.results}` : undefined,
          bulk.failedRows ? `failed rows at s3://${landing.bucket}/${bulk.failedRows}` : undefined,
        ]
          .filter(Boolean)
          .join(', ')
      : undefined,
    landing.zohoId ? `zoho id ${landing.zohoId}` : undefined,
    landing.attempt > 1 ? `attempt ${landing.attempt}` : undefined,
  ].filter((detail): detail is string => Boolean(detail));
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 1000)} s`;
}

export function formatDeadLetter(report: DeadLetterReport, clock: string): string {
  const { kind, keys, deadLetter } = report;
  return `${clock}  ${kind.padEnd(10)}  ${keys.join(', ') || deadLetter.messageId}  → dead-letter queue after ${deadLetter.receiveCount} receives: ${deadLetter.lastError ?? 'unknown error'}`;
}

export function formatNotice(notice: LocalS3Notice, clock: string): string {
  if (notice.type === 'refused') return `${clock}  refused     ${notice.key.slice(0, 60)}…  ${notice.reason}`;
  return `${clock}  no route    ${notice.key}  (${notice.reason}: nothing pushes it; in AWS no event would even arrive)`;
}
