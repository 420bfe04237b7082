import { describe, expect, it } from 'vitest';
import { ConfigError, type Env, loadConfig } from '#lib/config.ts';
import { routeKey } from '#lib/routing/route.ts';

const required: Env = { TOKEN_TABLE: 's3-to-zoho-tokens', IDEMPOTENCY_TABLE: 's3-to-zoho-ledger' };

function problems(env: Env): string[] {
  try {
    loadConfig({ ...required, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has a default for everything but the two tables', () => {
    const config = loadConfig(required);
    expect(config).toMatchObject({
      region: 'us-east-1',
      zohoHosts: {
        accountsUrl: 'https://accounts.zoho.com',
        apiUrl: 'https://www.zohoapis.com',
        uploadUrl: 'https://content.zohoapis.com',
      },
      zohoApiVersion: 'v8',
      zohoSecretArn: undefined,
      zohoMaxInFlight: 10,
      zohoCallsPerMinute: undefined,
      attachmentMaxBytes: 104_857_600,
      photoRestrictTriggers: false,
      tokenTable: 's3-to-zoho-tokens',
      idempotencyTable: 's3-to-zoho-ledger',
      dynamodbEndpoint: undefined,
      s3Endpoint: undefined,
      sqsEndpoint: undefined,
      followUpQueueUrl: undefined,
      resultsPrefix: 'bulk-write-results/',
      bulkPollSeconds: 60,
      metricsNamespace: 's3-to-zoho',
    });
    expect(routeKey(config.routes, 'attachments/Leads/1/a.pdf').ok).toBe(true);
  });

  it('reads every setting', () => {
    const config = loadConfig({
      ...required,
      AWS_REGION: 'eu-west-1',
      ZOHO_DC: 'EU',
      ZOHO_API_URL: 'http://127.0.0.1:9000/api/',
      ZOHO_API_VERSION: 'v7',
      ZOHO_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoho-AbCdEf',
      ZOHO_MAX_IN_FLIGHT: '4',
      ZOHO_CALLS_PER_MINUTE: '120',
      ATTACHMENT_MAX_BYTES: '20971520',
      PHOTO_RESTRICT_TRIGGERS: 'workflow',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      SQS_ENDPOINT: 'https://sqs.local',
      FOLLOW_UP_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/bulk',
      RESULTS_PREFIX: 'results/',
      BULK_POLL_SECONDS: '900',
      POWERTOOLS_METRICS_NAMESPACE: 'acme',
      UNRELATED: 'ignored',
    });
    expect(config).toMatchObject({
      region: 'eu-west-1',
      zohoHosts: {
        accountsUrl: 'https://accounts.zoho.eu',
        apiUrl: 'http://127.0.0.1:9000/api',
        uploadUrl: 'https://content.zohoapis.eu',
      },
      zohoApiVersion: 'v7',
      zohoSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:zoho-AbCdEf',
      zohoMaxInFlight: 4,
      zohoCallsPerMinute: 120,
      attachmentMaxBytes: 20_971_520,
      photoRestrictTriggers: true,
      dynamodbEndpoint: 'http://127.0.0.1:8000',
      s3Endpoint: 'http://127.0.0.1:4569',
      sqsEndpoint: 'https://sqs.local',
      followUpQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/bulk',
      resultsPrefix: 'results/',
      bulkPollSeconds: 900,
      metricsNamespace: 'acme',
    });
  });

  it('knows the UK data centre', () => {
    expect(loadConfig({ ...required, ZOHO_DC: 'uk' }).zohoHosts).toEqual({
      accountsUrl: 'https://accounts.zoho.uk',
      apiUrl: 'https://www.zohoapis.uk',
      uploadUrl: 'https://content.zohoapis.uk',
    });
  });

  it('reads PUSH_RETRY_BASE_MS, 1 s by default', () => {
    expect(loadConfig(required).pushRetryBaseMs).toBe(1_000);
    expect(loadConfig({ ...required, PUSH_RETRY_BASE_MS: '250' }).pushRetryBaseMs).toBe(250);
    expect(problems({ PUSH_RETRY_BASE_MS: 'soon' })).toEqual([
      'PUSH_RETRY_BASE_MS must be a positive integer; got "soon"',
    ]);
  });

  it('treats empty settings as unset', () => {
    const config = loadConfig({ ...required, ZOHO_DC: '', ZOHO_CALLS_PER_MINUTE: ' ', ROUTES: '' });
    expect(config.zohoHosts.accountsUrl).toBe('https://accounts.zoho.com');
    expect(config.zohoCallsPerMinute).toBeUndefined();
  });

  it('takes the API versions Zoho names, v2.1 as well as v8, as the client does', () => {
    expect(loadConfig({ ...required, ZOHO_API_VERSION: 'v2.1' }).zohoApiVersion).toBe('v2.1');
    expect(problems({ ZOHO_API_VERSION: 'v2.' })).toEqual([
      'ZOHO_API_VERSION must be a Zoho API version such as v8 or v2.1; got "v2."',
    ]);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['workflow', true],
    ['false', false],
  ])('reads PHOTO_RESTRICT_TRIGGERS=%s', (value, expected) => {
    expect(loadConfig({ ...required, PHOTO_RESTRICT_TRIGGERS: value }).photoRestrictTriggers).toBe(expected);
  });

  it('lists every bad setting by name in one error', () => {
    const error = (() => {
      try {
        loadConfig({
          ZOHO_DC: 'xx',
          ZOHO_API_URL: 'ftp://example.com',
          ZOHO_API_VERSION: '8',
          ZOHO_MAX_IN_FLIGHT: '0',
          ZOHO_CALLS_PER_MINUTE: '1.5',
          ATTACHMENT_MAX_BYTES: '-1',
          PHOTO_RESTRICT_TRIGGERS: 'yes',
          BULK_POLL_SECONDS: '901',
          S3_ENDPOINT: 'localhost:4569',
          IDEMPOTENCY_TABLE: 'a b',
        });
      } catch (caught) {
        return caught as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems).toEqual([
      'ZOHO_DC must be one of us, eu, uk, in, au, jp, ca, sa, cn; got "xx"',
      'ZOHO_API_URL must be an http(s) URL; got "ftp://example.com"',
      'ZOHO_API_VERSION must be a Zoho API version such as v8 or v2.1; got "8"',
      'ZOHO_MAX_IN_FLIGHT must be a positive integer; got "0"',
      'ZOHO_CALLS_PER_MINUTE must be a positive integer; got "1.5"',
      'ATTACHMENT_MAX_BYTES must be a positive integer; got "-1"',
      'PHOTO_RESTRICT_TRIGGERS must be true, workflow or false; got "yes"',
      'TOKEN_TABLE must name the DynamoDB table; it is not set',
      'IDEMPOTENCY_TABLE must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -); got "a b"',
      'S3_ENDPOINT must be an http(s) URL; got "localhost:4569"',
      'BULK_POLL_SECONDS must be an integer from 1 to 900; got "901"',
    ]);
    expect(error.message).toMatch(/^Invalid configuration:\n- ZOHO_DC must be/);
  });

  it("reads the fleet-wide Zoho budget and the kinds' floors, and refuses floors over the budget", () => {
    expect(loadConfig(required).zohoConcurrencyBudget).toBeUndefined();
    const config = loadConfig({
      ...required,
      ZOHO_CONCURRENCY_BUDGET: '15',
      ZOHO_SLOT_FLOORS: 'photo=3, attachment=2',
    });
    expect(config.zohoConcurrencyBudget).toBe(15);
    expect(config.zohoSlotFloors).toEqual({ attachment: 2, photo: 3, 'bulk-write': 0 });
    expect(problems({ ZOHO_CONCURRENCY_BUDGET: '101' })).toEqual([
      'ZOHO_CONCURRENCY_BUDGET must be an integer from 1 to 100; got "101"',
    ]);
    expect(problems({ ZOHO_CONCURRENCY_BUDGET: '2' })).toEqual([
      'ZOHO_SLOT_FLOORS take 3 slots, more than ZOHO_CONCURRENCY_BUDGET 2',
    ]);
    expect(problems({ ZOHO_SLOT_FLOORS: 'documents=1' })).toEqual([
      'ZOHO_SLOT_FLOORS must be kind=slots pairs, e.g. attachment=1,photo=1,bulk-write=1; got "documents=1"',
    ]);
  });

  it('replaces the routes with ROUTES', () => {
    const config = loadConfig({
      ...required,
      ROUTES: JSON.stringify([
        { name: 'docs', kind: 'attachment', pattern: 'docs/{module}/{recordId}/{fileName}' },
      ]),
    });
    expect(routeKey(config.routes, 'docs/Leads/1/a.pdf').ok).toBe(true);
    expect(routeKey(config.routes, 'attachments/Leads/1/a.pdf').ok).toBe(false);
  });

  it('names ROUTES and the bad route when the table is wrong', () => {
    expect(problems({ ROUTES: '[{"name":"x"' })[0]).toMatch(/^ROUTES must be a JSON array of routes: /);
    expect(
      problems({ ROUTES: '[{"name":"docs","kind":"attachment","pattern":"docs/{module}/{id}/{fileName}"}]' }),
    ).toEqual([
      'ROUTES: route #1 "docs": unknown placeholder {id} (known: {module}, {recordId}, {field}, {value}, {operation}, {fileName}, {ext}, {fieldApiName})',
    ]);
  });

  it('refuses a results prefix that routes would push again', () => {
    expect(problems({ RESULTS_PREFIX: 'bulk-write/results/' })).toEqual([
      'RESULTS_PREFIX "bulk-write/results/" overlaps route "bulk-write" (bulk-write/{module}/{operation}/{fileName}): results would be pushed as new files',
    ]);
    // fields/ is watched by the attachment function whatever the routes say (EXTRA_PREFIXES).
    const noFieldRoutes = JSON.stringify([
      { name: 'a', kind: 'attachment', pattern: 'attachments/{module}/{recordId}/{fileName}' },
    ]);
    expect(problems({ ROUTES: noFieldRoutes, RESULTS_PREFIX: 'fields/results/' })).toEqual([
      'RESULTS_PREFIX "fields/results/" overlaps fields/, which the attachment function watches whatever the routes: results would be pushed as new files',
    ]);
    expect(problems({ RESULTS_PREFIX: 'results' })[0]).toContain('ending in /');
    expect(problems({ RESULTS_PREFIX: '/results/' })[0]).toContain('ending in /');
  });
});
