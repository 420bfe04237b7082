/** Shared by the infra tests: the app built like `cdk synth` builds it, and template readers. */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { S3ToZohoStack, type S3ToZohoStackProps } from '../../infra/stack.ts';

type Json = Record<string, unknown>;

/** The feature flags of cdk.json, so the tests synthesize what `npm run synth` synthesizes. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as Json;
  return cdkJson.context as Record<string, unknown>;
}

export function newApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), ...context } });
}

/** Context that skips bundling the entries: for tests that read the template, not the code. */
export const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

/**
 * Stacks built in one app (the real entries are bundled, slowly, once for all of them), then
 * synthesized: build once per test file.
 */
export function synthStacks<Id extends string>(
  stacks: Record<Id, S3ToZohoStackProps>,
  context: Record<string, unknown> = {},
  /** What to add to the stacks before they are synthesized (e.g. addSourceBucket). */
  prepare: (built: Record<Id, S3ToZohoStack>) => void = () => {},
) {
  const app = newApp(context);
  const built = Object.fromEntries(
    Object.entries<S3ToZohoStackProps>(stacks).map(([id, props]) => [id, new S3ToZohoStack(app, id, props)]),
  ) as Record<Id, S3ToZohoStack>;
  prepare(built);
  const templates = Object.fromEntries(
    Object.entries<S3ToZohoStack>(built).map(([id, stack]) => [id, Template.fromStack(stack)]),
  ) as Record<Id, Template>;
  return { app, stacks: built, templates };
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Sid?: string;
  Condition?: unknown;
}

export function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

/** A resource as one readable string: `{"Ref":"X"}` → `<X>`, `Fn::GetAtt [X, Arn]` → `<X.Arn>`, joins joined. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(flatten).join(' | ');
  if (value && typeof value === 'object') {
    const node = value as Json;
    if (node['Fn::Join']) {
      const [separator, parts] = node['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
    if (node['Fn::GetAtt']) return `<${(node['Fn::GetAtt'] as string[]).join('.')}>`;
    if (node.Ref) return `<${String(node.Ref)}>`;
  }
  return JSON.stringify(value);
}

export function resourcesOf(statement: Statement): string[] {
  return (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(flatten);
}

/** Every identity-policy statement in the template (policies and roles' inline policies). */
export function allIdentityStatements(template: Template): Statement[] {
  const statements: Statement[] = [];
  for (const resource of Object.values(template.findResources('AWS::IAM::Policy'))) {
    statements.push(
      ...((resource as Json).Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument
        .Statement,
    );
  }
  for (const resource of Object.values(template.findResources('AWS::IAM::Role'))) {
    const policies = (
      (resource as Json).Properties as { Policies?: { PolicyDocument: { Statement: Statement[] } }[] }
    ).Policies;
    for (const policy of policies ?? []) statements.push(...policy.PolicyDocument.Statement);
  }
  return statements;
}

/** The statements of the default policy attached to a role (by the role's logical id). */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((resource) =>
    JSON.stringify((resource as Json).Properties).includes(`"Ref":"${roleLogicalId}"`),
  );
  return policies.flatMap(
    (policy) =>
      ((policy as Json).Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument
        .Statement,
  );
}

export interface FunctionView {
  logicalId: string;
  roleLogicalId: string;
  kind: string;
  properties: Json & { Environment: { Variables: Record<string, unknown> }; Timeout: number };
}

/** The three pipeline functions, by the POWERTOOLS_SERVICE_NAME the construct gives them. */
export function pipelineFunctions(template: Template): FunctionView[] {
  return Object.entries(template.findResources('AWS::Lambda::Function'))
    .map(([logicalId, resource]) => {
      const properties = (resource as Json).Properties as FunctionView['properties'];
      const service = properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME;
      const role = (properties.Role as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] as string;
      return {
        logicalId,
        roleLogicalId: role,
        kind: String(service ?? '').replace('s3-to-zoho-', ''),
        properties,
      };
    })
    .filter((fn) => fn.properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME !== undefined);
}

/** The Properties of the one resource of this type (fails the test when there is not exactly one). */
export function singleProperties(template: Template, type: string): Json {
  const resources = Object.values(template.findResources(type)) as Json[];
  if (resources.length !== 1) throw new Error(`Expected one ${type}, found ${resources.length}`);
  return (resources[0] as Json).Properties as Json;
}

/** The Properties of a resource by logical id. */
export function propertiesOf(template: Template, logicalId: string): Json {
  const resource = (template.toJSON().Resources as Record<string, Json>)[logicalId];
  if (!resource) throw new Error(`No resource ${logicalId}`);
  return resource.Properties as Json;
}
