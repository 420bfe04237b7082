import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EXTRA_PREFIXES, type Kind } from '#lib/kinds.ts';
import { FILES_BY_STATUS, METRIC } from '#lib/metric-names.ts';
import { S3ToZoho } from '../../infra/s3-to-zoho.ts';
import { S3ToZohoStack, stackPropsFromContext } from '../../infra/stack.ts';
import {
  actionsOf,
  allIdentityStatements,
  flatten,
  NO_BUNDLING,
  newApp,
  pipelineFunctions,
  propertiesOf,
  resourcesOf,
  roleStatements,
  singleProperties,
  synthStacks,
} from './helpers.ts';

type Json = Record<string, unknown>;

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:zoho-oauth-AbCdEf';
const PREFIXES: Record<string, string> = {
  attachment: 'attachments/',
  photo: 'photos/',
  'bulk-write': 'bulk-write/',
};

let fresh: Template;
let existing: Template;

beforeAll(() => {
  ({
    templates: { fresh, existing },
  } = synthStacks({
    fresh: {},
    existing: {
      bucketName: 'acme-crm-drop',
      bucketKeyArn: KEY_ARN,
      zohoSecretArn: SECRET_ARN,
      s3ToZoho: { zoho: { dataCentre: 'eu' }, monitoring: { alarmEmail: 'ops@example.com' } },
    },
  }));
}, 120_000);

/** logical id of each queue → its prefix/suffix filter, read from the notifications custom resource. */
function notificationFilters(template: Template) {
  const notifications = singleProperties(template, 'Custom::S3BucketNotifications') as {
    NotificationConfiguration: { QueueConfigurations: Json[] };
  };
  const configs = notifications.NotificationConfiguration.QueueConfigurations;
  return configs.map((config) => {
    const rules = (config.Filter as { Key: { FilterRules: { Name: string; Value: string }[] } }).Key
      .FilterRules;
    return {
      queue: flatten(config.QueueArn),
      events: config.Events,
      prefix: rules.find((r) => r.Name === 'prefix')?.Value,
      suffix: rules.find((r) => r.Name === 'suffix')?.Value,
    };
  });
}

function eventSources(template: Template) {
  return Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map((resource) => {
    const properties = (resource as Json).Properties as Json;
    return {
      functionRef: flatten(properties.FunctionName),
      queue: flatten(properties.EventSourceArn),
      batchSize: properties.BatchSize,
      responseTypes: properties.FunctionResponseTypes,
      maxConcurrency: (properties.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
    };
  });
}

describe('S3 notifications', () => {
  it('sends every new object under each prefix (bulk writes too: .zip, .csv, any case) to its own queue; fields/ to the attachments queue', () => {
    const filters = notificationFilters(fresh);
    expect(filters).toHaveLength(4);
    const byPrefix = Object.fromEntries(filters.map((f) => [f.prefix, f]));
    expect(byPrefix['attachments/']).toMatchObject({ events: ['s3:ObjectCreated:*'], suffix: undefined });
    expect(byPrefix['fields/']).toMatchObject({ events: ['s3:ObjectCreated:*'], suffix: undefined });
    expect(byPrefix['fields/']?.queue).toBe(byPrefix['attachments/']?.queue);
    expect(byPrefix['photos/']).toMatchObject({ events: ['s3:ObjectCreated:*'], suffix: undefined });
    // No suffix: the bulk function says what it takes (NOT_A_ZIP) instead of a file being left unseen.
    expect(byPrefix['bulk-write/']).toMatchObject({ events: ['s3:ObjectCreated:*'], suffix: undefined });
    expect(new Set(filters.map((f) => f.queue)).size).toBe(3);
  });

  it('filters on a suffix only when a kind is given one', () => {
    const stack = new Stack(newApp(NO_BUNDLING), 'Suffixed');
    new S3ToZoho(stack, 'Z', { kinds: { 'bulk-write': { suffix: '.zip' } } });
    const byPrefix = Object.fromEntries(
      notificationFilters(Template.fromStack(stack)).map((f) => [f.prefix, f]),
    );
    expect(byPrefix['bulk-write/']?.suffix).toBe('.zip');
    expect(byPrefix['attachments/']?.suffix).toBeUndefined();
  });

  it('wires each queue to the function of the same kind', () => {
    const sources = eventSources(fresh);
    for (const fn of pipelineFunctions(fresh)) {
      const source = sources.find((s) => s.functionRef === `<${fn.logicalId}>`);
      const filters = notificationFilters(fresh).filter((f) => f.queue === source?.queue);
      expect(filters.map((f) => f.prefix).sort(), fn.kind).toEqual(
        [PREFIXES[fn.kind], ...EXTRA_PREFIXES[fn.kind as Kind]].sort(),
      );
    }
  });
});

describe('addSourceBucket', () => {
  it('feeds the same queues from a second bucket: its notifications, its queue-policy statement, its prefixes in each role', () => {
    const stack = new Stack(newApp(NO_BUNDLING), 'TwoBuckets');
    const pipeline = new S3ToZoho(stack, 'Z');
    pipeline.addSourceBucket(Bucket.fromBucketName(stack, 'TeamB', 'team-b-drop'));
    const template = Template.fromStack(stack);

    const notifications = Object.values(template.findResources('Custom::S3BucketNotifications')).map(
      (resource) => (resource as Json).Properties as Json,
    );
    expect(notifications).toHaveLength(2);
    const teamB = notifications.find((n) => n.BucketName === 'team-b-drop') as {
      NotificationConfiguration: { QueueConfigurations: Json[] };
    };
    const own = notifications.find((n) => n !== teamB) as typeof teamB;
    const queuesOf = (n: typeof teamB) =>
      n.NotificationConfiguration.QueueConfigurations.map((c) => flatten(c.QueueArn)).sort();
    expect(queuesOf(teamB)).toEqual(queuesOf(own));

    const statements = Object.values(template.findResources('AWS::SQS::QueuePolicy')).flatMap(
      (policy) =>
        ((policy as Json).Properties as { PolicyDocument: { Statement: Json[] } }).PolicyDocument.Statement,
    );
    const teamBSends = statements.filter((s) => s.Sid === 'S3SendsObjectCreatedEventsTeamB');
    expect(teamBSends).toHaveLength(3);
    for (const statement of teamBSends) {
      expect(flatten((statement.Condition as Json).ArnLike)).toContain('team-b-drop');
    }

    for (const fn of pipelineFunctions(template)) {
      const reads = roleStatements(template, fn.roleLogicalId).find((s) => s.Sid === 'ReadOwnPrefix');
      const resources = reads ? resourcesOf(reads) : [];
      for (const prefix of [PREFIXES[fn.kind], ...EXTRA_PREFIXES[fn.kind as Kind]]) {
        expect(resources, fn.kind).toContainEqual(
          expect.stringMatching(new RegExp(`team-b-drop/${prefix}\\*$`)),
        );
      }
      const lists = roleStatements(template, fn.roleLogicalId).find((s) => s.Sid === 'TellMissingFromDenied');
      expect(lists ? resourcesOf(lists) : [], fn.kind).toContainEqual(expect.stringMatching(/team-b-drop$/));
    }
  });

  it('refuses the bucket it already watches and two buckets of the same id', () => {
    const stack = new Stack(newApp(NO_BUNDLING), 'Twice');
    const pipeline = new S3ToZoho(stack, 'Z');
    expect(() => pipeline.addSourceBucket(pipeline.bucket)).toThrow(/already the source/);
    pipeline.addSourceBucket(Bucket.fromBucketName(stack, 'TeamB', 'team-b-drop'));
    expect(() =>
      pipeline.addSourceBucket(Bucket.fromBucketName(new Construct(stack, 'Other'), 'TeamB', 'team-b-two')),
    ).toThrow(/its own construct id/);
  });
});

describe('queues', () => {
  it('gives each of the three queues a dead-letter queue after 5 receives', () => {
    const queues = Object.entries(fresh.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(6);
    const sources = queues.filter(([, q]) => ((q as Json).Properties as Json).RedrivePolicy);
    expect(sources).toHaveLength(3);
    const deadLetterIds = sources.map(([, q]) => {
      const redrive = (
        (q as Json).Properties as { RedrivePolicy: { deadLetterTargetArn: unknown; maxReceiveCount: number } }
      ).RedrivePolicy;
      expect(redrive.maxReceiveCount).toBe(5);
      return flatten(redrive.deadLetterTargetArn).replace(/^<|\.Arn>$/g, '');
    });
    expect(new Set(deadLetterIds).size).toBe(3);
    for (const id of deadLetterIds) {
      expect(propertiesOf(fresh, id)).toMatchObject({
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    }
  });

  it('encrypts every queue and refuses plain HTTP on each', () => {
    const queues = fresh.findResources('AWS::SQS::Queue');
    for (const queue of Object.values(queues)) {
      const properties = (queue as Json).Properties as Json;
      expect(properties.SqsManagedSseEnabled === true || properties.KmsMasterKeyId !== undefined).toBe(true);
    }
    const policies = Object.values(fresh.findResources('AWS::SQS::QueuePolicy')).map(
      (p) => (p as Json).Properties as Json,
    );
    for (const id of Object.keys(queues)) {
      const policy = policies.find((p) => flatten(p.Queues) === `<${id}>`);
      const statements = (policy?.PolicyDocument as { Statement: Json[] } | undefined)?.Statement;
      expect(statements, id).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('lets only this bucket send to the queues', () => {
    fresh.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Condition: { ArnLike: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('keeps each visibility timeout at 6 × its function timeout or more', () => {
    const functions = pipelineFunctions(fresh);
    for (const source of eventSources(fresh)) {
      const fn = functions.find((f) => `<${f.logicalId}>` === source.functionRef);
      const queueId = source.queue.replace(/^<|\.Arn>$/g, '');
      const visibility = propertiesOf(fresh, queueId).VisibilityTimeout as number;
      expect(fn).toBeDefined();
      expect(visibility).toBeGreaterThanOrEqual(6 * (fn?.properties.Timeout ?? Number.POSITIVE_INFINITY));
    }
  });
});

describe('concurrency', () => {
  it('reports partial batch failures and lets each kind alone keep the Zoho budget of 10 busy', () => {
    const sources = eventSources(fresh);
    expect(sources).toHaveLength(3);
    for (const source of sources) {
      expect(source.responseTypes).toEqual(['ReportBatchItemFailures']);
      expect(source.batchSize).toBe(5);
      expect(source.maxConcurrency).toBe(20);
    }
  });

  it('gives every function the fleet-wide budget and the floors, which the slots in the token table enforce', () => {
    for (const fn of pipelineFunctions(fresh)) {
      expect(fn.properties.Environment.Variables.ZOHO_CONCURRENCY_BUDGET).toBe('10');
      expect(fn.properties.Environment.Variables.ZOHO_SLOT_FLOORS).toBe('attachment=1,photo=1,bulk-write=1');
    }
  });

  it('lets each invocation hold one Zoho call at a time', () => {
    for (const fn of pipelineFunctions(fresh)) {
      expect(fn.properties.Environment.Variables.ZOHO_MAX_IN_FLIGHT).toBe('1');
    }
  });

  it('refuses floors that take more than the budget, naming the setting', () => {
    expect(
      () =>
        new S3ToZoho(new Stack(new App(), 'Small'), 'Z', {
          concurrency: { budget: 5, slotFloors: { attachment: 2, photo: 2, 'bulk-write': 2 } },
        }),
    ).toThrow(/concurrency.slotFloors take 6 slots, more than concurrency.budget 5/);
  });
});

describe('functions', () => {
  it('runs three bundled ESM functions on arm64 with tracing and source maps', () => {
    const functions = pipelineFunctions(fresh);
    expect(functions.map((f) => f.kind).sort()).toEqual(['attachment', 'bulk-write', 'photo']);
    for (const fn of functions) {
      expect(String(fn.properties.Runtime)).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
      expect(fn.properties).toMatchObject({
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: 512,
        TracingConfig: { Mode: 'Active' },
      });
      expect(fn.properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
    }
  });

  it('gives photos a shorter timeout than attachments and bulk writes', () => {
    const timeout = Object.fromEntries(pipelineFunctions(fresh).map((f) => [f.kind, f.properties.Timeout]));
    expect(timeout).toEqual({ attachment: 300, photo: 120, 'bulk-write': 300 });
  });

  it('hands bulk-write its own queue for follow-ups and its results prefix, and allows that loop', () => {
    const bulk = pipelineFunctions(fresh).find((f) => f.kind === 'bulk-write');
    const queueRef = eventSources(fresh)
      .find((s) => s.functionRef === `<${bulk?.logicalId}>`)
      ?.queue.replace(/\.Arn>$/, '>');
    expect(flatten(bulk?.properties.Environment.Variables.FOLLOW_UP_QUEUE_URL)).toBe(queueRef);
    expect(bulk?.properties.Environment.Variables.RESULTS_PREFIX).toBe('bulk-write-results/');
    expect(bulk?.properties.RecursiveLoop).toBe('Allow');
    for (const fn of pipelineFunctions(fresh).filter((f) => f.kind !== 'bulk-write')) {
      expect(fn.properties.Environment.Variables.FOLLOW_UP_QUEUE_URL).toBeUndefined();
    }
  });

  it('keeps each log group for a month', () => {
    const groups = Object.values(fresh.findResources('AWS::Logs::LogGroup'));
    expect(groups).toHaveLength(3);
    for (const group of groups) expect(((group as Json).Properties as Json).RetentionInDays).toBe(30);
  });
});

describe('least privilege', () => {
  it('grants no wildcard action anywhere', () => {
    for (const template of [fresh, existing]) {
      for (const statement of allIdentityStatements(template)) {
        for (const action of actionsOf(statement))
          expect(action, JSON.stringify(statement)).not.toContain('*');
      }
    }
  });

  it('lets each function read and tag only objects under its own prefix', () => {
    for (const fn of pipelineFunctions(fresh)) {
      const statements = roleStatements(fresh, fn.roleLogicalId);
      const objectStatements = statements.filter((s) =>
        actionsOf(s).some((a) => a.startsWith('s3:') && a !== 's3:ListBucket'),
      );
      const objectResources = new Set(objectStatements.flatMap(resourcesOf));
      const allowed = [
        `/${PREFIXES[fn.kind]}*`,
        ...EXTRA_PREFIXES[fn.kind as Kind].map((prefix) => `/${prefix}*`),
        ...(fn.kind === 'bulk-write' ? ['/bulk-write-results/*'] : []),
      ];
      if (fn.kind === 'attachment')
        expect([...objectResources].some((r) => r.endsWith('/fields/*'))).toBe(true);
      for (const resource of objectResources) {
        expect(
          allowed.some((suffix) => resource.endsWith(suffix)),
          `${fn.kind}: ${resource}`,
        ).toBe(true);
      }
      const own = objectStatements.filter((s) =>
        resourcesOf(s).some((r) => r.endsWith(`/${PREFIXES[fn.kind]}*`)),
      );
      expect(own.flatMap(actionsOf).sort()).toEqual([
        's3:GetObject',
        's3:GetObjectTagging',
        's3:GetObjectVersion',
        's3:GetObjectVersionTagging',
        's3:PutObjectTagging',
        's3:PutObjectVersionTagging',
      ]);
    }
  });

  it('allows s3:PutObject only to bulk-write, only under the results prefix', () => {
    for (const fn of pipelineFunctions(fresh)) {
      const puts = roleStatements(fresh, fn.roleLogicalId).filter((s) =>
        actionsOf(s).includes('s3:PutObject'),
      );
      if (fn.kind !== 'bulk-write') {
        expect(puts, fn.kind).toEqual([]);
        continue;
      }
      expect(puts.flatMap(resourcesOf)).toEqual([expect.stringMatching(/\/bulk-write-results\/\*$/)]);
    }
  });

  it('lets only bulk-write send messages, and only to its own queue', () => {
    for (const fn of pipelineFunctions(fresh)) {
      const sends = roleStatements(fresh, fn.roleLogicalId).filter((s) =>
        actionsOf(s).includes('sqs:SendMessage'),
      );
      if (fn.kind !== 'bulk-write') {
        expect(sends, fn.kind).toEqual([]);
        continue;
      }
      const ownQueue = eventSources(fresh).find((s) => s.functionRef === `<${fn.logicalId}>`)?.queue;
      expect(sends.flatMap(resourcesOf)).toEqual([ownQueue]);
    }
  });

  it('gives each function item access to exactly its tables and read access to the secret', () => {
    const tableIds = Object.keys(fresh.findResources('AWS::DynamoDB::Table'));
    const imports = tableIds.filter((id) => id.includes('BulkImports')).map((id) => `<${id}.Arn>`);
    const shared = tableIds.filter((id) => !id.includes('BulkImports')).map((id) => `<${id}.Arn>`);
    expect([imports.length, shared.length]).toEqual([1, 2]);
    const [secretId] = Object.keys(fresh.findResources('AWS::SecretsManager::Secret'));
    for (const fn of pipelineFunctions(fresh)) {
      const statements = roleStatements(fresh, fn.roleLogicalId);
      const dynamo = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      const own = fn.properties.Environment.Variables.IMPORTS_TABLE ? [...shared, ...imports] : shared;
      expect(dynamo.flatMap(resourcesOf).sort()).toEqual(own.sort());
      const secret = statements.filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
      expect(secret.flatMap(resourcesOf)).toEqual([`<${secretId}>`]);
    }
  });
});

describe('secrets', () => {
  it('passes the secret ARN, never a secret value, in the environment', () => {
    const [secretId] = Object.keys(fresh.findResources('AWS::SecretsManager::Secret'));
    for (const template of [fresh, existing]) {
      for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
        const variables = (((fn as Json).Properties as Json).Environment as { Variables?: Json } | undefined)
          ?.Variables;
        for (const [name, value] of Object.entries(variables ?? {})) {
          const text = JSON.stringify(value);
          expect(name).not.toMatch(/client_secret|refresh_token|password/i);
          expect(text).not.toMatch(/\b1000\.[0-9a-f]{32}\.[0-9a-f]{32}\b/);
          expect(text).not.toMatch(/client_secret|refresh_token/i);
          expect(text).not.toMatch(/resolve:secretsmanager/);
        }
      }
    }
    for (const fn of pipelineFunctions(fresh)) {
      expect(flatten(fn.properties.Environment.Variables.ZOHO_SECRET_ARN)).toBe(`<${secretId}>`);
    }
    for (const fn of pipelineFunctions(existing)) {
      expect(fn.properties.Environment.Variables.ZOHO_SECRET_ARN).toBe(SECRET_ARN);
    }
  });

  it('creates the secret with a placeholder that holds no credential', () => {
    const value = JSON.parse(
      String(singleProperties(fresh, 'AWS::SecretsManager::Secret').SecretString),
    ) as Json;
    expect(Object.keys(value)).not.toContain('client_secret');
    expect(Object.keys(value)).not.toContain('refresh_token');
    expect(existing.findResources('AWS::SecretsManager::Secret')).toEqual({});
  });

  it('refuses a credential-looking extra environment variable', () => {
    expect(
      () =>
        new S3ToZoho(new Stack(new App(), 'Leaky'), 'Z', {
          functions: { environment: { ZOHO_REFRESH_TOKEN: 'not-here' } },
        }),
    ).toThrow(/Secrets Manager/);
  });
});

describe('tables', () => {
  it('creates the token, idempotency and bulk imports tables on demand, with PITR and encryption', () => {
    fresh.resourceCountIs('AWS::DynamoDB::Table', 3);
    const common = {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    };
    fresh.hasResourceProperties('AWS::DynamoDB::Table', {
      ...common,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    fresh.hasResourceProperties('AWS::DynamoDB::Table', {
      ...common,
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('hands the table names to every function', () => {
    const tables = Object.keys(fresh.findResources('AWS::DynamoDB::Table')).map((id) => `<${id}>`);
    for (const fn of pipelineFunctions(fresh)) {
      const { TOKEN_TABLE, IDEMPOTENCY_TABLE, IMPORTS_TABLE } = fn.properties.Environment.Variables;
      const named = [TOKEN_TABLE, IDEMPOTENCY_TABLE, ...(IMPORTS_TABLE ? [IMPORTS_TABLE] : [])].map(flatten);
      expect(named.sort()).toEqual(tables.filter((t) => IMPORTS_TABLE || !t.includes('BulkImports')).sort());
    }
    const bulk = pipelineFunctions(fresh).filter((fn) => fn.properties.Environment.Variables.IMPORTS_TABLE);
    expect(bulk).toHaveLength(1);
  });
});

describe('new bucket', () => {
  it('is versioned, encrypted, private, SSL only and logs its accesses', () => {
    fresh.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: Match.objectLike({}),
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
    });
    fresh.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('existing bucket', () => {
  it('adds the notifications to the named bucket without creating one', () => {
    existing.resourceCountIs('AWS::S3::Bucket', 0);
    existing.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: 'acme-crm-drop',
      Managed: false,
    });
    expect(
      notificationFilters(existing)
        .map((f) => f.prefix)
        .sort(),
    ).toEqual(['attachments/', 'bulk-write/', 'fields/', 'photos/']);
  });

  it('scopes object access to the named bucket', () => {
    for (const fn of pipelineFunctions(existing)) {
      const reads = roleStatements(existing, fn.roleLogicalId).filter((s) =>
        actionsOf(s).includes('s3:GetObject'),
      );
      for (const resource of reads.flatMap(resourcesOf)) expect(resource).toContain(':s3:::acme-crm-drop/');
    }
  });

  it('grants kms:Decrypt on the bucket key to every function, and kms:GenerateDataKey to bulk-write only', () => {
    for (const fn of pipelineFunctions(existing)) {
      const kms = roleStatements(existing, fn.roleLogicalId).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('kms:')),
      );
      expect(kms.flatMap(resourcesOf)).toEqual(kms.map(() => KEY_ARN));
      const actions = kms.flatMap(actionsOf).sort();
      expect(actions).toEqual(
        fn.kind === 'bulk-write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      );
    }
    for (const fn of pipelineFunctions(fresh)) {
      const kms = roleStatements(fresh, fn.roleLogicalId).filter((s) =>
        actionsOf(s).some((a) => a.startsWith('kms:')),
      );
      expect(kms).toEqual([]);
    }
  });

  it('passes the data centre from the props', () => {
    for (const fn of pipelineFunctions(existing))
      expect(fn.properties.Environment.Variables.ZOHO_DC).toBe('eu');
    for (const fn of pipelineFunctions(fresh)) expect(fn.properties.Environment.Variables.ZOHO_DC).toBe('us');
  });
});

describe('observability', () => {
  it('builds a dashboard of the pipeline metrics, the DLQs and the functions', () => {
    const body = flatten(singleProperties(fresh, 'AWS::CloudWatch::Dashboard').DashboardBody);
    for (const name of ['FilesPushed', 'FilesFailed', 'BytesPushed', 'PushDuration', 'TokenRefreshes']) {
      for (const kind of ['attachment', 'photo', 'bulk-write']) {
        expect(body).toContain(`"s3-to-zoho","${name}","kind","${kind}","service","s3-to-zoho-${kind}"`);
      }
    }
    // Every code Zoho answered with, whatever it is: a search over the code dimension.
    expect(body).toContain(`SEARCH('{s3-to-zoho,code,kind,service} MetricName=\\"ZohoErrors\\"'`);
    expect(body).toContain('"AWS/SQS","ApproximateNumberOfMessagesVisible"');
    expect(body).toContain('"AWS/Lambda","Errors"');
    expect(body).toContain('"AWS/Lambda","Throttles"');
  });

  it('graphs every metric the pipeline emits, with the dimensions Powertools gives it', () => {
    // The names the pipeline passes to addMetric (each from metric-names.ts, none spelt out), and
    // the outcome names counted in deps.ts.
    const sources = ['deps.ts', 'handler.ts'].map((file) =>
      readFileSync(new URL(`../../functions/lib/pipeline/${file}`, import.meta.url), 'utf8'),
    );
    for (const source of sources) expect(source).not.toMatch(/addMetric\(\s*'/);
    const named = METRIC as Record<string, string>;
    const emitted = new Set([
      ...sources.flatMap((source) =>
        [...source.matchAll(/addMetric\(\s*METRIC\.([A-Za-z]+)/g)].map((m) => named[m[1] ?? '']),
      ),
      ...(sources.some((source) => source.includes('FILES_BY_STATUS['))
        ? Object.values(FILES_BY_STATUS)
        : []),
    ]);
    expect([...emitted].sort()).toEqual(
      expect.arrayContaining(['FilesFailed', 'FilesPushed', 'FilesStarted', 'RecordsReceived', 'ZohoErrors']),
    );
    const body = flatten(singleProperties(fresh, 'AWS::CloudWatch::Dashboard').DashboardBody);
    for (const name of emitted) {
      if (name === 'ZohoErrors') continue; // by code: a search, checked above
      for (const kind of ['attachment', 'photo', 'bulk-write']) {
        expect(body, name).toContain(
          `"s3-to-zoho","${name}","kind","${kind}","service","s3-to-zoho-${kind}"`,
        );
      }
    }
  });

  it('raises the fourteen alarms (four per kind, Zoho throttling, expired imports) on the encrypted, SSL-only topic', () => {
    const alarms = Object.entries(fresh.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(14);
    const [topicId] = Object.keys(fresh.findResources('AWS::SNS::Topic'));
    for (const [, alarm] of alarms) {
      expect(flatten(((alarm as Json).Properties as Json).AlarmActions)).toBe(`<${topicId}>`);
    }
    fresh.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    fresh.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    fresh.resourceCountIs('AWS::SNS::Subscription', 0);
    existing.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('alarms on a non-empty DLQ per kind', () => {
    const dlqAlarms = Object.values(fresh.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => ((a as Json).Properties as Json).MetricName === 'ApproximateNumberOfMessagesVisible',
    );
    expect(dlqAlarms).toHaveLength(3);
    for (const alarm of dlqAlarms) {
      expect((alarm as Json).Properties).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms on the failure rate per kind with FilesFailed / (FilesPushed + FilesFailed) above 20%', () => {
    for (const kind of ['attachment', 'photo', 'bulk-write']) {
      fresh.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Threshold: 0.2,
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: Match.stringLikeRegexp('failed.*/.*pushed.*failed') }),
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                MetricName: 'FilesFailed',
                Namespace: 's3-to-zoho',
                Dimensions: Match.arrayWith([{ Name: 'kind', Value: kind }]),
              }),
            }),
          }),
        ]),
      });
    }
  });

  it('alarms when Zoho throttles, counting ZohoErrors with code ZOHO_THROTTLED', () => {
    fresh.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'ZohoErrors',
              Dimensions: Match.arrayWith([{ Name: 'code', Value: 'ZOHO_THROTTLED' }]),
            }),
          }),
        }),
      ]),
    });
  });

  it('alarms when a bulk import ends expired, counting ZohoErrors with code BULK_IMPORT_EXPIRED', () => {
    fresh.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 0,
      Metrics: [
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'ZohoErrors',
              Dimensions: Match.arrayWith([
                { Name: 'code', Value: 'BULK_IMPORT_EXPIRED' },
                { Name: 'kind', Value: 'bulk-write' },
              ]),
            }),
          }),
        }),
      ],
    });
  });

  it('alarms on function errors per function', () => {
    const errorAlarms = Object.values(fresh.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => ((a as Json).Properties as Json).MetricName === 'Errors',
    );
    expect(errorAlarms).toHaveLength(3);
  });
});

describe('context', () => {
  it('reads the stack settings from cdk context strings', () => {
    const app = new App({
      context: {
        bucketArn: 'arn:aws:s3:::acme-crm-drop',
        zohoDc: 'eu',
        concurrencyBudget: '12',
        concurrencySplit: 'attachment=5,photo=4,bulk-write=3',
        callsPerMinute: '120',
        alarmEmail: 'ops@example.com',
        environment: '{"ZOHO_API_VERSION":"v8"}',
        removalPolicy: 'destroy',
      },
    });
    const props = stackPropsFromContext(app.node);
    expect(props.bucketArn).toBe('arn:aws:s3:::acme-crm-drop');
    expect(props.s3ToZoho).toMatchObject({
      zoho: { dataCentre: 'eu' },
      concurrency: {
        budget: 12,
        split: { attachment: 5, photo: 4, 'bulk-write': 3 },
        callsPerMinute: 120,
      },
      monitoring: { alarmEmail: 'ops@example.com' },
      functions: { environment: { ZOHO_API_VERSION: 'v8' } },
    });
  });

  it('refuses an unknown data centre and a bucket given twice', () => {
    expect(() => stackPropsFromContext(new App({ context: { zohoDc: 'mars' } }).node)).toThrow(/zohoDc/);
    expect(
      () => new S3ToZohoStack(new App(), 'Twice', { bucketName: 'a', bucketArn: 'arn:aws:s3:::b' }),
    ).toThrow(/not both/);
  });
});
