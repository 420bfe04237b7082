/**
 * The CDK app (cdk.json: `node infra/app.ts`): one S3ToZohoStack from context, checked by
 * cdk-nag's AwsSolutions pack on every synth; an unacknowledged finding fails the synth.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { S3ToZohoStack, stackPropsFromContext } from './stack.ts';

const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new S3ToZohoStack(app, String(app.node.tryGetContext('stackName') ?? 'S3ToZoho'), {
  ...stackPropsFromContext(app.node),
  ...(account && region ? { env: { account, region } } : {}),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
