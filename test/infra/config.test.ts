/**
 * The environment the stack gives each function is one its cold start accepts: the template's
 * variables, CloudFormation references resolved to placeholder values, go through the very
 * loadConfig the Lambda entries call. A setting the functions would refuse fails the synth.
 */
import { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Config, loadConfig } from '#lib/config.ts';
import { routeKey } from '#lib/routing/route.ts';
import { S3ToZoho, type S3ToZohoProps } from '../../infra/s3-to-zoho.ts';
import { NO_BUNDLING, newApp, pipelineFunctions, synthStacks } from './helpers.ts';

type Json = Record<string, unknown>;

const CUSTOM_ROUTES = JSON.stringify([
  { name: 'attachment', kind: 'attachment', pattern: 'inbox/attachments/{module}/{recordId}/{fileName}' },
  { name: 'photo', kind: 'photo', pattern: 'inbox/photos/{module}/{recordId}.{ext}' },
  { name: 'bulk-write', kind: 'bulk-write', pattern: 'inbox/bulk/{module}/{operation}/{fileName}.zip' },
]);

let fresh: Template;
let custom: Template;

beforeAll(() => {
  ({
    templates: { fresh, custom },
  } = synthStacks(
    {
      fresh: {},
      custom: {
        s3ToZoho: {
          zoho: { dataCentre: 'eu' },
          concurrency: { callsPerMinute: 100 },
          kinds: {
            attachment: { prefix: 'inbox/attachments/' },
            photo: { prefix: 'inbox/photos/' },
            'bulk-write': { prefix: 'inbox/bulk/' },
          },
          source: { resultsPrefix: 'inbox-results/' },
          functions: {
            environment: { ROUTES: CUSTOM_ROUTES, ZOHO_API_VERSION: 'v7', BULK_POLL_SECONDS: '30' },
          },
        },
      },
    },
    NO_BUNDLING,
  ));
}, 120_000);

/** A value Lambda would see for a CloudFormation reference in the environment. */
function placeholderFor(template: Template, value: unknown, name: string): string {
  if (typeof value === 'string') return value;
  const ref = (value as { Ref?: string } | undefined)?.Ref;
  const resources = template.toJSON().Resources as Record<string, { Type: string }>;
  const type = ref ? resources[ref]?.Type : undefined;
  if (type === 'AWS::DynamoDB::Table') return `S3ToZoho-${ref}-ABC123`;
  if (type === 'AWS::SQS::Queue') return `https://sqs.us-east-1.amazonaws.com/111122223333/${ref}`;
  if (type === 'AWS::SecretsManager::Secret')
    return `arn:aws:secretsmanager:us-east-1:111122223333:secret:${ref}-AbCdEf`;
  throw new Error(`${name}: no placeholder for ${JSON.stringify(value)}`);
}

/** Each pipeline function's environment as Lambda would hand it over, read by loadConfig. */
function configs(template: Template): Record<string, { env: Record<string, string>; config: Config }> {
  return Object.fromEntries(
    pipelineFunctions(template).map((fn) => {
      const env = Object.fromEntries(
        Object.entries(fn.properties.Environment.Variables).map(([name, value]) => [
          name,
          placeholderFor(template, value, name),
        ]),
      );
      return [fn.kind, { env, config: loadConfig({ ...env, AWS_REGION: 'eu-west-1' }) }];
    }),
  );
}

/** The construct alone, without bundling the entries: for settings refused before any function exists. */
function build(props: S3ToZohoProps) {
  return new S3ToZoho(new Stack(newApp(NO_BUNDLING), 'Check'), 'Z', props);
}

describe('the functions read the environment the stack sets', () => {
  it('loads each function config of the default stack', () => {
    const loaded = configs(fresh);
    expect(Object.keys(loaded).sort()).toEqual(['attachment', 'bulk-write', 'photo']);
    for (const [kind, { env, config }] of Object.entries(loaded)) {
      expect(config.zohoHosts.accountsUrl, kind).toBe('https://accounts.zoho.com');
      expect(config.zohoMaxInFlight, kind).toBe(1);
      expect(config.zohoSecretArn, kind).toBe(env.ZOHO_SECRET_ARN);
      expect(config.tokenTable, kind).toBe(env.TOKEN_TABLE);
      expect(config.idempotencyTable, kind).toBe(env.IDEMPOTENCY_TABLE);
      expect(config.tokenTable).not.toBe(config.idempotencyTable);
      expect(config.metricsNamespace, kind).toBe('s3-to-zoho');
      expect(config.s3Endpoint ?? config.dynamodbEndpoint ?? config.sqsEndpoint, kind).toBeUndefined();
    }
    expect(loaded['bulk-write']?.config.followUpQueueUrl).toMatch(/^https:\/\/sqs\./);
    expect(loaded['bulk-write']?.config.resultsPrefix).toBe('bulk-write-results/');
    expect(loaded['bulk-write']?.config.importsTable).toBe(loaded['bulk-write']?.env.IMPORTS_TABLE);
    expect(loaded['bulk-write']?.config.importsTable).toMatch(/BulkImports/);
    expect(loaded.attachment?.config.followUpQueueUrl).toBeUndefined();
    expect(loaded.attachment?.config.importsTable).toBeUndefined();
  });

  it('sets no variable that neither the config, Powertools nor Node reads', () => {
    const known = new Set([
      'ZOHO_DC',
      'ZOHO_SECRET_ARN',
      'ZOHO_MAX_IN_FLIGHT',
      'ZOHO_CALLS_PER_MINUTE',
      'ZOHO_CONCURRENCY_BUDGET',
      'ZOHO_SLOT_FLOORS',
      'ZOHO_API_VERSION',
      'ROUTES',
      'BULK_POLL_SECONDS',
      'TOKEN_TABLE',
      'IDEMPOTENCY_TABLE',
      'IMPORTS_TABLE',
      'FOLLOW_UP_QUEUE_URL',
      'RESULTS_PREFIX',
      'POWERTOOLS_METRICS_NAMESPACE',
      'POWERTOOLS_SERVICE_NAME',
      'NODE_OPTIONS',
    ]);
    for (const template of [fresh, custom]) {
      for (const { env } of Object.values(configs(template))) {
        for (const name of Object.keys(env)) expect(known, name).toContain(name);
      }
    }
  });

  it('loads each function config of a stack with its own prefixes, routes and settings', () => {
    const loaded = configs(custom);
    for (const [kind, { config }] of Object.entries(loaded)) {
      expect(config.zohoHosts.accountsUrl, kind).toBe('https://accounts.zoho.eu');
      expect(config.zohoApiVersion, kind).toBe('v7');
      // 100 a minute over 3 event sources of 20 invocations each (any kind may keep the budget busy alone).
      expect(config.zohoCallsPerMinute, kind).toBe(1);
      expect(config.routes.routes.map((r) => r.prefix).sort(), kind).toEqual([
        'inbox/attachments/',
        'inbox/bulk/',
        'inbox/photos/',
      ]);
    }
    const bulk = loaded['bulk-write']?.config;
    expect(bulk?.resultsPrefix).toBe('inbox-results/');
    expect(bulk?.bulkPollSeconds).toBe(30);
    const routed = bulk && routeKey(bulk.routes, 'inbox/bulk/Leads/insert/march.zip');
    expect(routed?.ok && routed.value.kind).toBe('bulk-write');
  });
});

describe('settings the functions would refuse at their cold start fail the synth', () => {
  it('refuses a results prefix that is not a key prefix ending in /', () => {
    expect(() => build({ source: { resultsPrefix: 'results' } })).toThrow(
      /bulk-write.*RESULTS_PREFIX must be a key prefix/s,
    );
  });

  it('refuses a results prefix under, or holding, any watched prefix, fields/ included', () => {
    // The attachment function watches fields/ whatever the routes say: with routes that name no
    // fields/ key, only the construct's own check stands between the bulk results and that queue.
    const custom = {
      kinds: {
        attachment: { prefix: 'inbox/attachments/' },
        photo: { prefix: 'inbox/photos/' },
        'bulk-write': { prefix: 'inbox/bulk/' },
      },
      functions: { environment: { ROUTES: CUSTOM_ROUTES } },
    };
    expect(() => build({ ...custom, source: { resultsPrefix: 'fields/results/' } })).toThrow(
      /resultsPrefix 'fields\/results\/' overlaps 'fields\/', watched by the attachment function/,
    );
    expect(() => build({ ...custom, source: { resultsPrefix: 'inbox/' } })).toThrow(
      /resultsPrefix 'inbox\/' overlaps 'inbox\/attachments\/', watched by the attachment function/,
    );
    expect(() => build({ source: { resultsPrefix: 'photos/results/' } })).toThrow(
      /resultsPrefix 'photos\/results\/' overlaps 'photos\/', watched by the photo function/,
    );
    expect(() => build({ ...custom, source: { resultsPrefix: 'fields-results/' } })).not.toThrow();
  });

  it('refuses watched prefixes that overlap, fields/ included', () => {
    const bothNamed = (a: string, b: string) =>
      new RegExp(`^(?=.*'${a}')(?=.*'${b}').*S3 refuses overlapping notifications`, 's');
    expect(() => build({ kinds: { photo: { prefix: 'attachments/photos/' } } })).toThrow(
      bothNamed('attachments/photos/', 'attachments/'),
    );
    expect(() => build({ kinds: { photo: { prefix: 'fields/photos/' } } })).toThrow(
      bothNamed('fields/photos/', 'fields/'),
    );
    expect(() => build({ kinds: { attachment: { prefix: 'fields/attachments/' } } })).toThrow(
      bothNamed('fields/attachments/', 'fields/'),
    );
  });

  it('refuses an extra variable the config rejects, naming it', () => {
    expect(() => build({ functions: { environment: { BULK_POLL_SECONDS: '1800' } } })).toThrow(
      /BULK_POLL_SECONDS must be an integer from 1 to 900/,
    );
    expect(() => build({ functions: { environment: { ROUTES: '[{"name":"x"}]' } } })).toThrow(/ROUTES/);
    expect(() => build({ functions: { environment: { ZOHO_API_VERSION: '8' } } })).toThrow(
      /ZOHO_API_VERSION/,
    );
  });

  it('refuses an extra variable the construct sets itself, instead of silently dropping it', () => {
    expect(() => build({ functions: { environment: { ZOHO_DC: 'eu' } } })).toThrow(
      /ZOHO_DC.*zoho\.dataCentre/,
    );
    expect(() => build({ functions: { environment: { TOKEN_TABLE: 'mine' } } })).toThrow(/TOKEN_TABLE/);
    expect(() => build({ functions: { environment: { POWERTOOLS_SERVICE_NAME: 'mine' } } })).toThrow(
      /POWERTOOLS_SERVICE_NAME/,
    );
  });

  it('refuses a watched prefix that no route of its kind reads', () => {
    expect(() => build({ kinds: { attachment: { prefix: 'inbox/attachments/' } } })).toThrow(
      /attachment.*'inbox\/attachments\/'.*ROUTES/,
    );
  });

  it('refuses a route that sends its keys to another kind of function', () => {
    const routes = JSON.parse(CUSTOM_ROUTES) as Json[];
    routes.push({ name: 'stray', kind: 'photo', pattern: 'inbox/attachments/{module}/{recordId}.{ext}' });
    expect(() =>
      build({
        kinds: {
          attachment: { prefix: 'inbox/attachments/' },
          photo: { prefix: 'inbox/photos/' },
          'bulk-write': { prefix: 'inbox/bulk/' },
        },
        functions: { environment: { ROUTES: JSON.stringify(routes) } },
      }),
    ).toThrow(/photo route "stray".*attachment prefix 'inbox\/attachments\/'/);
    expect(() =>
      build({
        kinds: {
          attachment: { prefix: 'inbox/attachments/' },
          photo: { prefix: 'inbox/photos/' },
          'bulk-write': { prefix: 'inbox/bulk/' },
        },
        functions: { environment: { ROUTES: CUSTOM_ROUTES } },
      }),
    ).not.toThrow();
  });
});
