/**
 * First setup: a Zoho Self Client's grant code, exchanged once for a refresh token, then kept
 * where the pipeline reads it (the stack's Secrets Manager secret) or printed for a local run.
 */
import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { stringOf } from '#zoho/answer-errors.ts';
import { readTokenAnswer } from '#zoho/auth.ts';
import {
  isZohoError,
  ZohoAuthError,
  ZohoNetworkError,
  ZohoProtocolError,
  ZohoServerError,
  ZohoThrottledError,
} from '#zoho/errors.ts';
import { type DataCentre, trimSlash } from '#zoho/hosts.ts';
import type { OAuthCredentials } from '#zoho/types.ts';

/**
 * The scopes to make a grant code with: records and their attachments and photos, the org's
 * zgid, bulk write jobs and the file host's ZIP uploads, the search API, which also needs
 * `ZohoSearch.securesearch.READ` (a token without it is refused OAUTH_SCOPE_MISMATCH), and ZFS
 * uploads for file-upload fields (`ZohoCRM.files.CREATE`, crm-oas v8.0 files.json).
 */
export const PIPELINE_SCOPES: readonly string[] = [
  'ZohoCRM.modules.ALL',
  'ZohoCRM.bulk.ALL',
  'ZohoCRM.org.READ',
  'ZohoFiles.files.ALL',
  'ZohoSearch.securesearch.READ',
  'ZohoCRM.files.CREATE',
];

/** The pipeline's scopes a grant's `scope` (space- or comma-separated) does not name. */
export function missingPipelineScopes(granted: string | undefined): string[] {
  if (granted === undefined) return [];
  const names = new Set(granted.split(/[\s,]+/).map((s) => s.toLowerCase()));
  return PIPELINE_SCOPES.filter((scope) => !names.has(scope.toLowerCase()));
}

export interface GrantExchange {
  /** The accounts server of the client's data centre, e.g. `https://accounts.zoho.eu`. */
  accountsUrl: string;
  clientId: string;
  clientSecret: string;
  /** The grant code from the API console: single use, valid a few minutes. */
  code: string;
}

export interface ExchangedGrant {
  refreshToken: string;
  /** The API base the token belongs to (not secret). */
  apiDomain: string | undefined;
  scope: string | undefined;
}

export interface ExchangeDeps {
  fetch?: typeof fetch;
  /** Default: 30 seconds. */
  signal?: AbortSignal;
}

/** What a person does about each error the accounts server answers with (HTTP 200, `error` key). */
const GRANT_ERRORS: Record<string, string> = {
  invalid_code:
    'Zoho refused the grant code (invalid_code): a code is single use and valid only the few minutes chosen ' +
    'when it was made. Generate a new one in the API console (Self Client → Generate Code) and run this again at once.',
  invalid_client:
    'Zoho does not know this client (invalid_client): check the client id, and the data centre (--dc): a client ' +
    'made on accounts.zoho.eu is unknown to accounts.zoho.com.',
  invalid_client_secret:
    'Zoho refused the client secret (invalid_client_secret): check it in the API console.',
};

/** `POST {accounts}/oauth/v2/token` with `grant_type=authorization_code`; success is a `refresh_token` in the answer. */
export async function exchangeGrantCode(
  grant: GrantExchange,
  deps: ExchangeDeps = {},
): Promise<ExchangedGrant> {
  const send = deps.fetch ?? fetch;
  const url = `${trimSlash(grant.accountsUrl)}/oauth/v2/token`;
  let response: Response;
  let text: string;
  try {
    response = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: grant.clientId,
        client_secret: grant.clientSecret,
        code: grant.code,
      }),
      signal: deps.signal ?? AbortSignal.timeout(30_000),
    });
    text = await response.text();
  } catch (error) {
    throw new ZohoNetworkError(
      `Could not reach ${url}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }

  let answer: Record<string, unknown>;
  try {
    answer = readTokenAnswer(response.status, text).json;
  } catch (error) {
    throw grantError(error);
  }
  const refreshToken = stringOf(answer.refresh_token);
  if (!refreshToken) {
    throw new ZohoProtocolError(
      'Zoho answered with an access token but no refresh token: make the grant code with a Self Client ' +
        '(or, for a server-based client, with access_type=offline).',
      { status: response.status },
    );
  }
  return { refreshToken, apiDomain: stringOf(answer.api_domain), scope: stringOf(answer.scope) };
}

/** The token answer's error, told for a grant code exchange: what a person does about it. */
function grantError(error: unknown): unknown {
  if (!isZohoError(error)) return error;
  const fields = { status: error.status, zohoCode: error.zohoCode, details: error.details };
  const description = stringOf(
    (error.details as { error_description?: unknown } | undefined)?.error_description,
  );
  if (error instanceof ZohoThrottledError) {
    return new ZohoThrottledError(
      `Zoho's accounts server is throttling this client: wait a few minutes, then use a new grant code. ${description ?? ''}`.trim(),
      fields,
    );
  }
  if (error instanceof ZohoAuthError && error.zohoCode) {
    const message =
      GRANT_ERRORS[error.zohoCode] ??
      `Zoho refused the grant code exchange: ${error.zohoCode}${description ? ` (${description})` : ''}.`;
    return new ZohoAuthError(message, fields);
  }
  if (error instanceof ZohoServerError) {
    return new ZohoServerError(`Zoho's accounts server answered HTTP ${error.status}: try again.`, fields);
  }
  return error;
}

/** The secret's JSON, in the shape the pipeline reads (contract.md). */
function secretString(credentials: OAuthCredentials): string {
  return JSON.stringify({
    client_id: credentials.clientId,
    client_secret: credentials.clientSecret,
    refresh_token: credentials.refreshToken,
  });
}

/**
 * Fails when the secret cannot be reached (wrong name or region, no AWS credentials) before the
 * single-use grant code is spent. Only a refusal to describe it passes: writing may still be allowed.
 */
export async function checkSecret(secrets: SecretsManagerClient, secretId: string): Promise<void> {
  try {
    await secrets.send(new DescribeSecretCommand({ SecretId: secretId }));
  } catch (error) {
    if ((error as { name?: unknown }).name === 'AccessDeniedException') return;
    throw error;
  }
}

/** Writes the credentials as the secret's new current version. */
export async function storeCredentials(
  secrets: SecretsManagerClient,
  secretId: string,
  credentials: OAuthCredentials,
): Promise<{ arn: string | undefined; versionId: string | undefined }> {
  const answer = await secrets.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString(credentials) }),
  );
  return { arn: answer.ARN, versionId: answer.VersionId };
}

/** `export` lines for a local run (`eval "$(npm run -s auth -- --print …)"`), each value shell-quoted. */
export function shellExports(
  credentials: OAuthCredentials,
  dc: DataCentre,
  overrides: { accountsUrl?: string | undefined } = {},
): string {
  const variables: Array<[string, string]> = [
    ['ZOHO_CLIENT_ID', credentials.clientId],
    ['ZOHO_CLIENT_SECRET', credentials.clientSecret],
    ['ZOHO_REFRESH_TOKEN', credentials.refreshToken],
    ['ZOHO_DC', dc],
  ];
  if (overrides.accountsUrl) variables.push(['ZOHO_ACCOUNTS_URL', overrides.accountsUrl]);
  return variables.map(([name, value]) => `export ${name}=${shellQuote(value)}`).join('\n');
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9._:/@%+=,-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
