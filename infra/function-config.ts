/**
 * The environment each function gets is checked at synth time with the very loadConfig its cold
 * start runs, so a setting the function would refuse fails `cdk synth`, not the first event in AWS.
 * The routes are checked against the watched prefixes too: a prefix no route of its kind reads
 * would have every file skipped as unrouted.
 */
import { ConfigError, loadConfig } from '#lib/config.ts';
import { KINDS, type Kind, prefixesOverlap } from '#lib/kinds.ts';

/**
 * Variables the construct sets itself from its props. Given in `environment`, they would be
 * silently replaced (and the dashboard, the alarms and the concurrency arithmetic rely on them).
 */
const MANAGED_ENVIRONMENT: Record<string, string> = {
  ZOHO_DC: 'zoho.dataCentre',
  ZOHO_SECRET_ARN: 'zoho.secret',
  ZOHO_MAX_IN_FLIGHT: 'concurrency.maxInFlightPerInvocation',
  ZOHO_CALLS_PER_MINUTE: 'concurrency.callsPerMinute',
  ZOHO_CONCURRENCY_BUDGET: 'concurrency.budget',
  ZOHO_SLOT_FLOORS: 'concurrency.slotFloors',
  TOKEN_TABLE: 'the construct (its token table)',
  IDEMPOTENCY_TABLE: 'the construct (its idempotency table)',
  FOLLOW_UP_QUEUE_URL: 'the construct (the bulk-write queue)',
  RESULTS_PREFIX: 'source.resultsPrefix',
  POWERTOOLS_SERVICE_NAME: 'the construct (the dashboard and alarms read it)',
  POWERTOOLS_METRICS_NAMESPACE: 'monitoring.metricsNamespace',
  NODE_OPTIONS: 'the construct (source maps)',
};

/** Stand-ins for the values only CloudFormation knows, each of the form the function expects. */
export const DEPLOY_TIME_PLACEHOLDERS = {
  tableName: 'S3ToZoho-Table-PLACEHOLDER',
  secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:zoho-PLACEHOLDER',
  queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/placeholder',
} as const;

export function refuseManagedNames(environment: Record<string, string>): void {
  for (const name of Object.keys(environment)) {
    const owner = MANAGED_ENVIRONMENT[name];
    if (owner) {
      throw new Error(`environment.${name} is set by the construct: use ${owner} instead`);
    }
  }
}

/**
 * Loads each function's environment as its cold start would, and checks the routes against the
 * watched prefixes. Throws with every problem, naming the function.
 */
export function checkFunctionConfigs(
  environments: Record<Kind, Record<string, string>>,
  prefixes: Record<Kind, string>,
): void {
  for (const kind of KINDS) {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(environments[kind]);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new Error(`The ${kind} function would fail its cold start. ${error.message}`);
    }
    checkRoutes(kind, config.routes.routes, prefixes);
  }
}

type Route = ReturnType<typeof loadConfig>['routes']['routes'][number];

function checkRoutes(kind: Kind, routes: readonly Route[], prefixes: Record<Kind, string>): void {
  const prefix = prefixes[kind];
  if (!routes.some((route) => route.definition.kind === kind && prefixesOverlap(route.prefix, prefix))) {
    throw new Error(
      `No ${kind} route reads keys under the watched ${kind} prefix '${prefix}': every file there would ` +
        'be skipped as unrouted. Give environment.ROUTES routes whose patterns start with the prefix.',
    );
  }
  for (const route of routes) {
    const other = KINDS.find(
      (k) => k !== route.definition.kind && prefixesOverlap(route.prefix, prefixes[k]),
    );
    if (other && !prefixesOverlap(route.prefix, prefixes[route.definition.kind])) {
      throw new Error(
        `The ${route.definition.kind} route "${route.definition.name}" (${route.definition.pattern}) lies under ` +
          `the ${other} prefix '${prefixes[other]}': its keys would reach the ${other} function and be skipped.`,
      );
    }
  }
}
