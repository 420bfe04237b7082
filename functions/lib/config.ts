/**
 * Every setting, read once from the environment and checked at start: a bad setting fails the
 * cold start with one error naming each bad setting. An empty variable counts as unset.
 * Secrets are not settings: the OAuth client lives in Secrets Manager (ZOHO_SECRET_ARN).
 */
import { ATTACHMENT_MAX_BYTES, BULK_CSV_MAX_ROWS } from '#lib/inspect/limits.ts';
import {
  DEFAULT_SLOT_FLOORS,
  EXTRA_PREFIXES,
  isKind,
  KINDS,
  type Kind,
  kindRecord,
  perKind,
  prefixesOverlap,
  serviceName,
} from '#lib/kinds.ts';
import { DEFAULT_METRICS_NAMESPACE } from '#lib/metric-names.ts';
import { type CompiledRoutes, compileRoutes, DEFAULT_ROUTES, RouteTableError } from '#lib/routing/route.ts';
import { MAX_FLEET_BUDGET } from '#zoho/fleet/keys.ts';
import { DATA_CENTRES, type DataCentre, isDataCentre, resolveHosts, type ZohoHosts } from '#zoho/hosts.ts';
import { API_VERSION } from '#zoho/types.ts';

/** Where the bulk write results and ledgers go unless RESULTS_PREFIX says otherwise. */
export const DEFAULT_RESULTS_PREFIX = 'bulk-write-results/';

export interface Config {
  /** AWS_REGION (then AWS_DEFAULT_REGION); default `us-east-1`. Lambda always sets it. */
  region: string;
  /**
   * ZOHO_DC: the org's data centre, one of DATA_CENTRES (zoho/hosts.ts HOSTS; default `us`), as its hosts, each replaced by ZOHO_ACCOUNTS_URL, ZOHO_API_URL, ZOHO_UPLOAD_URL
   * when set (http(s) URLs: a sandbox, a proxy). The token's api_domain still replaces the API host.
   */
  zohoHosts: ZohoHosts;
  /** ZOHO_API_VERSION: a Zoho API version (v8, v2.1); default `v8`. */
  zohoApiVersion: string;
  /**
   * ZOHO_SECRET_ARN: the Secrets Manager secret holding {client_id, client_secret, refresh_token}.
   * Optional here: a local runner passes credentials in; without either, building the handler fails.
   */
  zohoSecretArn: string | undefined;
  /**
   * ZOHO_MAX_IN_FLIGHT: Zoho calls one container keeps open at once; default 10 when unset. The
   * stack and `npm start` always set it (DEFAULT_MAX_IN_FLIGHT per invocation).
   */
  zohoMaxInFlight: number;
  /** ZOHO_CALLS_PER_MINUTE: a cap on the calls one container starts per minute; unset = no cap. */
  zohoCallsPerMinute: number | undefined;
  /**
   * ZOHO_CONCURRENCY_BUDGET: Zoho calls the whole fleet may have in flight, shared through slots in
   * TOKEN_TABLE (zoho/fleet/), 1 to 100; unset = no fleet-wide limit, only ZOHO_MAX_IN_FLIGHT.
   */
  zohoConcurrencyBudget: number | undefined;
  /** ZOHO_SLOT_FLOORS: the slots each kind takes first, e.g. `attachment=1,photo=1,bulk-write=1` (the default). */
  zohoSlotFloors: Record<Kind, number>;
  /** ATTACHMENT_MAX_BYTES: the largest attachment pushed; default 104857600 (inspect/limits.ts: Zoho's 100 MB). */
  attachmentMaxBytes: number;
  /** PHOTO_RESTRICT_TRIGGERS: `true` or `workflow` sends restrict_triggers=workflow with photos; default false. */
  photoRestrictTriggers: boolean;
  /** ROUTES: a JSON route table replacing the default one (see routing/table.ts). */
  routes: CompiledRoutes;
  /** TOKEN_TABLE: the DynamoDB table sharing access tokens across the fleet. Required. */
  tokenTable: string;
  /** IDEMPOTENCY_TABLE: the DynamoDB table of pushed object versions. Required. */
  idempotencyTable: string;
  /** IMPORTS_TABLE: the DynamoDB table of bulk imports (one item per import). Bulk-write only. */
  importsTable: string | undefined;
  /** DYNAMODB_ENDPOINT, S3_ENDPOINT, SQS_ENDPOINT: local endpoints (http(s) URLs); unset in AWS. */
  dynamodbEndpoint: string | undefined;
  s3Endpoint: string | undefined;
  sqsEndpoint: string | undefined;
  /** FOLLOW_UP_QUEUE_URL: the bulk-write function's own queue, for following jobs. Bulk-write only. */
  followUpQueueUrl: string | undefined;
  /** RESULTS_PREFIX: where bulk-write results are written; default `bulk-write-results/`. */
  resultsPrefix: string;
  /** BULK_POLL_SECONDS: how long between two looks at a bulk job, 1 to 900 (SQS DelaySeconds max); default 60. */
  bulkPollSeconds: number;
  /** BULK_MAX_FOLLOW_SECONDS: how long an import's jobs are followed before it ends `expired`; default 21600 (6 h). */
  bulkMaxFollowSeconds: number;
  /** BULK_MAX_ROWS: the most rows one bulk import may hold (all parts together); default 1000000. */
  bulkMaxRows: number;
  /** BULK_ROWS_PER_PART: the rows of one bulk job, 1 to 25000 (Zoho's most per CSV); default 25000. */
  bulkRowsPerPart: number;
  /** BULK_MAX_INFLATED_BYTES: the most bytes a bulk ZIP's CSV may inflate to; default 1073741824 (1 GiB). */
  bulkMaxInflatedBytes: number;
  /** PUSH_RETRY_BASE_MS: back-off before an upload (attachment, photo, field file, bulk ZIP part) is tried again in-process (doubling, jittered); default 1000. */
  pushRetryBaseMs: number;
  /** POWERTOOLS_METRICS_NAMESPACE (Powertools' own setting); default DEFAULT_METRICS_NAMESPACE (`s3-to-zoho`). */
  metricsNamespace: string;
}

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly retryable = false;
  /** One line per bad setting, each starting with its name. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`Invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** SQS: DelaySeconds is at most 900. */
const MAX_POLL_SECONDS = 900;
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** Zoho calls one invocation may keep open, unless the deployment says otherwise (ZOHO_MAX_IN_FLIGHT). */
export const DEFAULT_MAX_IN_FLIGHT = 1;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const read = reader(env, problems);

  const dc = (read.text('ZOHO_DC') ?? 'us').toLowerCase();
  if (!isDataCentre(dc))
    problems.push(`ZOHO_DC must be one of ${DATA_CENTRES.join(', ')}; got "${env.ZOHO_DC}"`);
  const zohoDc: DataCentre = isDataCentre(dc) ? dc : 'us';
  const accountsUrl = read.url('ZOHO_ACCOUNTS_URL');
  const apiUrl = read.url('ZOHO_API_URL');
  const uploadUrl = read.url('ZOHO_UPLOAD_URL');

  const apiVersion = read.text('ZOHO_API_VERSION') ?? 'v8';
  if (!API_VERSION.test(apiVersion))
    problems.push(`ZOHO_API_VERSION must be a Zoho API version such as v8 or v2.1; got "${apiVersion}"`);

  // undefined when ROUTES is set but wrong: that is reported, and nothing else is checked against it.
  const routes = read.text('ROUTES') === undefined ? compileRoutes(DEFAULT_ROUTES) : read.routes('ROUTES');
  const resultsPrefix = read.text('RESULTS_PREFIX') ?? DEFAULT_RESULTS_PREFIX;
  checkResultsPrefix(resultsPrefix, routes, problems);

  const config: Config = {
    region: read.text('AWS_REGION') ?? read.text('AWS_DEFAULT_REGION') ?? 'us-east-1',
    zohoHosts: resolveHosts(zohoDc, {
      ...(accountsUrl ? { accountsUrl } : {}),
      ...(apiUrl ? { apiUrl } : {}),
      ...(uploadUrl ? { uploadUrl } : {}),
    }),
    zohoApiVersion: apiVersion,
    zohoSecretArn: read.text('ZOHO_SECRET_ARN'),
    zohoMaxInFlight: read.integer('ZOHO_MAX_IN_FLIGHT') ?? 10,
    zohoCallsPerMinute: read.integer('ZOHO_CALLS_PER_MINUTE'),
    zohoConcurrencyBudget: read.integer('ZOHO_CONCURRENCY_BUDGET', MAX_FLEET_BUDGET),
    zohoSlotFloors: read.floors('ZOHO_SLOT_FLOORS') ?? DEFAULT_SLOT_FLOORS,
    attachmentMaxBytes: read.integer('ATTACHMENT_MAX_BYTES') ?? ATTACHMENT_MAX_BYTES,
    photoRestrictTriggers: read.flag('PHOTO_RESTRICT_TRIGGERS', ['workflow']) ?? false,
    routes: routes ?? { routes: [] },
    tokenTable: read.tableName('TOKEN_TABLE'),
    idempotencyTable: read.tableName('IDEMPOTENCY_TABLE'),
    importsTable: read.text('IMPORTS_TABLE') === undefined ? undefined : read.tableName('IMPORTS_TABLE'),
    dynamodbEndpoint: read.url('DYNAMODB_ENDPOINT'),
    s3Endpoint: read.url('S3_ENDPOINT'),
    sqsEndpoint: read.url('SQS_ENDPOINT'),
    followUpQueueUrl: read.url('FOLLOW_UP_QUEUE_URL'),
    resultsPrefix,
    bulkPollSeconds: read.integer('BULK_POLL_SECONDS', MAX_POLL_SECONDS) ?? 60,
    bulkMaxFollowSeconds: read.integer('BULK_MAX_FOLLOW_SECONDS') ?? 21_600,
    bulkMaxRows: read.integer('BULK_MAX_ROWS') ?? 1_000_000,
    bulkRowsPerPart: read.integer('BULK_ROWS_PER_PART', BULK_CSV_MAX_ROWS) ?? BULK_CSV_MAX_ROWS,
    bulkMaxInflatedBytes: read.integer('BULK_MAX_INFLATED_BYTES') ?? 1_073_741_824,
    pushRetryBaseMs: read.integer('PUSH_RETRY_BASE_MS') ?? 1_000,
    metricsNamespace: read.text('POWERTOOLS_METRICS_NAMESPACE') ?? DEFAULT_METRICS_NAMESPACE,
  };
  checkFloors(config, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Readers of one setting each: the value, or undefined when unset; a bad value adds a problem. */
function reader(env: Env, problems: string[]) {
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  return {
    text,
    integer(name: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      const number = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(number) || number < 1 || number > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`;
        problems.push(`${name} must be ${range}; got "${value}"`);
        return undefined;
      }
      return number;
    },
    flag(name: string, alsoTrue: string[] = []): boolean | undefined {
      const value = text(name)?.toLowerCase();
      if (value === undefined) return undefined;
      if (value === 'true' || alsoTrue.includes(value)) return true;
      if (value === 'false') return false;
      problems.push(`${name} must be ${['true', ...alsoTrue].join(', ')} or false; got "${env[name]}"`);
      return undefined;
    },
    url(name: string): string | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
        problems.push(`${name} must be an http(s) URL; got "${value}"`);
        return undefined;
      }
      return value;
    },
    tableName(name: string): string {
      const value = text(name);
      if (value === undefined) problems.push(`${name} must name the DynamoDB table; it is not set`);
      else if (!TABLE_NAME.test(value))
        problems.push(`${name} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -); got "${value}"`);
      return value ?? '';
    },
    floors(name: string): Record<Kind, number> | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      const floors = perKind(() => 0);
      for (const part of value.split(',')) {
        const [kind = '', count = ''] = part.split('=').map((x) => x.trim());
        if (!isKind(kind) || !/^[0-9]+$/.test(count)) {
          problems.push(
            `${name} must be kind=slots pairs, e.g. attachment=1,photo=1,bulk-write=1; got "${value}"`,
          );
          return undefined;
        }
        floors[kind] = Number(count);
      }
      return floors;
    },
    routes(name: string): CompiledRoutes | undefined {
      const value = text(name);
      if (value === undefined) return undefined;
      let table: unknown;
      try {
        table = JSON.parse(value);
      } catch (error) {
        problems.push(`${name} must be a JSON array of routes: ${(error as Error).message}`);
        return undefined;
      }
      try {
        return compileRoutes(table);
      } catch (error) {
        if (!(error instanceof RouteTableError)) throw error;
        problems.push(...error.problems.map((problem) => `${name}: ${problem}`));
        return undefined;
      }
    },
  };
}

/** The floors come out of the budget. */
function checkFloors(config: Config, problems: string[]): void {
  const budget = config.zohoConcurrencyBudget;
  const problem =
    budget === undefined
      ? undefined
      : slotFloorsProblem(config.zohoSlotFloors, budget, {
          floors: 'ZOHO_SLOT_FLOORS',
          budget: 'ZOHO_CONCURRENCY_BUDGET',
        });
  if (problem) problems.push(problem);
}

/**
 * Why the floors cannot come out of the budget, naming the settings as the caller calls them (the
 * stack's props, the environment), or undefined when they can: each a whole number of slots, all
 * together at most the budget.
 */
export function slotFloorsProblem(
  floors: Readonly<Record<Kind, number>>,
  budget: number,
  names: { floors: string; budget: string },
): string | undefined {
  const list = KINDS.map((kind) => `${kind}=${floors[kind]}`).join(', ');
  if (KINDS.some((kind) => !Number.isInteger(floors[kind]) || floors[kind] < 0)) {
    return `${names.floors} must be whole numbers of slots (0 or more); got ${list}`;
  }
  const total = KINDS.reduce((sum, kind) => sum + floors[kind], 0);
  return total > budget
    ? `${names.floors} take ${total} slots, more than ${names.budget} ${budget}`
    : undefined;
}

/** Results written under a watched prefix would be pushed as new files. */
function checkResultsPrefix(prefix: string, routes: CompiledRoutes | undefined, problems: string[]): void {
  if (
    !prefix.endsWith('/') ||
    prefix.startsWith('/') ||
    prefix.split('/').some((s) => s === '.' || s === '..')
  ) {
    problems.push(
      `RESULTS_PREFIX must be a key prefix ending in /, e.g. bulk-write-results/; got "${prefix}"`,
    );
    return;
  }
  const overlaps = (other: string) => prefixesOverlap(prefix, other);
  const before = problems.length;
  for (const route of routes?.routes ?? []) {
    if (overlaps(route.prefix)) {
      problems.push(
        `RESULTS_PREFIX "${prefix}" overlaps route "${route.definition.name}" (${route.definition.pattern}): results would be pushed as new files`,
      );
    }
  }
  // A kind's extra prefixes are watched (S3 notifications) whether or not a route names them.
  const extra = KINDS.flatMap((kind) => EXTRA_PREFIXES[kind].map((watched) => ({ kind, watched }))).find(
    ({ watched }) => overlaps(watched),
  );
  if (extra && problems.length === before) {
    problems.push(
      `RESULTS_PREFIX "${prefix}" overlaps ${extra.watched}, which the ${extra.kind} function watches whatever the routes: results would be pushed as new files`,
    );
  }
}

/**
 * What the deployment decides for a kind's function: the stack from its props and CloudFormation's
 * names, `npm start` from its local services. A setting left undefined is not set, so the
 * variable keeps the value `base` gives it (or loadConfig's default).
 */
export interface FunctionSettings {
  /** The user's own variables (the construct's `environment`, npm start's environment); the settings replace them. */
  base?: Env | undefined;
  zohoDc?: string | undefined;
  secretArn?: string | undefined;
  maxInFlight?: number | undefined;
  concurrencyBudget?: number | undefined;
  slotFloors?: Readonly<Record<Kind, number>> | undefined;
  callsPerMinute?: number | undefined;
  tokenTable: string;
  idempotencyTable: string;
  /** Bulk imports; only a kind that follows its jobs gets it. */
  importsTable: string;
  /** The kind's own queue: a kind that follows its jobs sends itself its follow-ups there. */
  queueUrl: string;
  /** Where a kind that follows its jobs writes their results. */
  resultsPrefix?: string | undefined;
  metricsNamespace?: string | undefined;
}

/** A kind's function environment, the one loadConfig reads at its cold start: the stack's and `npm start`'s alike. */
export function functionEnvironment(kind: Kind, settings: FunctionSettings): Record<string, string> {
  const floors = settings.slotFloors;
  const followsJobs = kindRecord(kind).followsJobs;
  return definedOnly({
    ...settings.base,
    ...definedOnly({
      ZOHO_DC: settings.zohoDc,
      ZOHO_SECRET_ARN: settings.secretArn,
      ZOHO_MAX_IN_FLIGHT: settings.maxInFlight?.toString(),
      ZOHO_CONCURRENCY_BUDGET: settings.concurrencyBudget?.toString(),
      ZOHO_SLOT_FLOORS: floors && KINDS.map((each) => `${each}=${floors[each]}`).join(','),
      ZOHO_CALLS_PER_MINUTE: settings.callsPerMinute?.toString(),
      TOKEN_TABLE: settings.tokenTable,
      IDEMPOTENCY_TABLE: settings.idempotencyTable,
      POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
      POWERTOOLS_SERVICE_NAME: serviceName(kind),
      NODE_OPTIONS: '--enable-source-maps',
      FOLLOW_UP_QUEUE_URL: followsJobs ? settings.queueUrl : undefined,
      RESULTS_PREFIX: followsJobs ? settings.resultsPrefix : undefined,
      IMPORTS_TABLE: followsJobs ? settings.importsTable : undefined,
    }),
  });
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
