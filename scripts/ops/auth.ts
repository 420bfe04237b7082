/**
 * `npm run auth -- --code <grant code> --client-id <id> --secret-id <arn>`: exchange a Zoho Self
 * Client's grant code for a refresh token and store the OAuth client in the stack's secret (or
 * `--print` it as shell exports for a local run).
 */
import { readFile } from 'node:fs/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  checkSecret,
  exchangeGrantCode,
  missingPipelineScopes,
  PIPELINE_SCOPES,
  shellExports,
  storeCredentials,
} from '#tools/ops/grant-code.ts';
import { optionOrOutput } from '#tools/ops/stack-outputs.ts';
import { DATA_CENTRES, isDataCentre, resolveHosts } from '#zoho/hosts.ts';
import { OUTPUT_NAMES } from '../../infra/outputs.ts';
import { type CommandValues, promptHidden, runCommand, UsageError } from './command.ts';
import { awsClientConfig, STACK_HELP, STACK_OPTIONS, stackOutputs } from './stack-options.ts';

const HELP = `Usage: npm run auth -- --code <grant code> --client-id <id> (--secret-id <arn or name> | --print) [options]

Exchanges a grant code of a Zoho Self Client for a refresh token, then stores
{client_id, client_secret, refresh_token} in the stack's Secrets Manager secret, or prints
them as shell exports. Make the code in the API console (Self Client → Generate Code) with
the scopes the pipeline needs:
  ${PIPELINE_SCOPES.join(',')}
The code is single use and valid only
the few minutes chosen when it was made: run this right after generating it.

Options:
  --code <code>                 the grant code (asked for when left out)
  --client-id <id>              the Self Client's id (default: $ZOHO_CLIENT_ID)
  --client-secret-file <path>   a file holding the client secret
                                (else $ZOHO_CLIENT_SECRET, else it is asked for without echo,
                                or read from the first line of stdin when stdin is a pipe)
  --client-secret <secret>      the secret on the command line: lands in shell history, avoid
  --dc <dc>                     the client's data centre: ${DATA_CENTRES.join(', ')} (default: $ZOHO_DC or us)
  --accounts-url <url>          an accounts server other than the DC's (default: $ZOHO_ACCOUNTS_URL)
  --secret-id <arn or name>     store in this Secrets Manager secret (the stack's ZohoSecret)
${STACK_HELP}
  --print                       print export lines instead, for a local run:
                                  eval "$(npm run --silent auth -- --print --code …)"
  --region <region>             AWS region of the secret (default: the SDK's: AWS_REGION, profile)
  --endpoint <url>              a Secrets Manager endpoint other than AWS's
  -h, --help                    this text`;

const OPTIONS = {
  code: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-file': { type: 'string' },
  'client-secret': { type: 'string' },
  dc: { type: 'string' },
  'accounts-url': { type: 'string' },
  'secret-id': { type: 'string' },
  print: { type: 'boolean', default: false },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  ...STACK_OPTIONS,
} as const;

async function main(values: CommandValues<typeof OPTIONS>): Promise<number> {
  // Everything is checked before the code is spent (it works once), the secret included.
  const outputs = await stackOutputs(values);
  const secretId = optionOrOutput(values['secret-id'], outputs, OUTPUT_NAMES.secretArn);
  if (!secretId && !values.print) {
    throw new UsageError(
      'Say where the refresh token goes: --secret-id <arn or name>, --stack <name>, or --print',
    );
  }
  const dc = values.dc ?? process.env.ZOHO_DC ?? 'us';
  if (!isDataCentre(dc)) throw new UsageError(`--dc must be one of ${DATA_CENTRES.join(', ')}, not "${dc}"`);
  const clientId = values['client-id'] ?? process.env.ZOHO_CLIENT_ID;
  if (!clientId) throw new UsageError('--client-id is required (or ZOHO_CLIENT_ID)');
  const accountsOverride = values['accounts-url'] ?? process.env.ZOHO_ACCOUNTS_URL;
  const { accountsUrl } = resolveHosts(dc, accountsOverride ? { accountsUrl: accountsOverride } : {});

  const clientSecret = await readClientSecret(values);
  if (!clientSecret) throw new UsageError('The client secret is empty');
  const code = values.code ?? (await promptHidden('Grant code: '));
  if (!code) throw new UsageError('--code is required');

  const secrets = secretId ? new SecretsManagerClient(awsClientConfig(values)) : undefined;
  try {
    if (secrets && secretId) await checkSecret(secrets, secretId);
    process.stderr.write(`Exchanging the grant code at ${accountsUrl} …\n`);
    const grant = await exchangeGrantCode({ accountsUrl, clientId, clientSecret, code });
    const credentials = { clientId, clientSecret, refreshToken: grant.refreshToken };
    const scope = grant.scope ? ` for scopes ${grant.scope}` : '';
    process.stderr.write(
      `Got a refresh token${scope}${grant.apiDomain ? ` (API ${grant.apiDomain})` : ''}.\n`,
    );
    const missing = missingPipelineScopes(grant.scope);
    if (missing.length > 0) {
      process.stderr.write(
        `Warning: the grant lacks ${missing.join(', ')}; calls needing them will be refused (OAUTH_SCOPE_MISMATCH). Make a new code with ${PIPELINE_SCOPES.join(',')}.\n`,
      );
    }

    if (secrets && secretId) {
      const stored = await storeCredentials(secrets, secretId, credentials);
      process.stderr.write(`Stored in ${stored.arn ?? secretId} (version ${stored.versionId ?? '?'}).\n`);
    }
    if (values.print)
      process.stdout.write(`${shellExports(credentials, dc, { accountsUrl: accountsOverride })}\n`);
    return 0;
  } finally {
    secrets?.destroy();
  }
}

async function readClientSecret(values: {
  'client-secret-file'?: string | undefined;
  'client-secret'?: string | undefined;
}): Promise<string> {
  if (values['client-secret-file']) return (await readFile(values['client-secret-file'], 'utf8')).trim();
  if (values['client-secret'] !== undefined) {
    process.stderr.write(
      'Warning: --client-secret puts the secret in your shell history; prefer --client-secret-file or ZOHO_CLIENT_SECRET.\n',
    );
    return values['client-secret'].trim();
  }
  if (process.env.ZOHO_CLIENT_SECRET) return process.env.ZOHO_CLIENT_SECRET.trim();
  return promptHidden('Client secret: ');
}

runCommand(HELP, OPTIONS, main);
