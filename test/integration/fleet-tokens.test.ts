/**
 * The whole fleet shares one access token: several containers (each its own client and token
 * store, one DynamoDB table) calling Zoho at once mint one token per expiry, not one each
 * (Zoho allows 10 per refresh token per 10 minutes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { createPipelineTables, type LocalDynamoDb, startLocalDynamoDb } from '#tools/local/dynamodb.ts';
import { createZohoClient } from '#zoho/client.ts';
import { resolveHosts } from '#zoho/hosts.ts';
import { createDynamoDbTokenStore } from '#zoho/token-store-dynamodb.ts';
import type { ZohoClient } from '#zoho/types.ts';

let sandbox: Sandbox;
let dynamo: LocalDynamoDb;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, concurrencyLimit: 100 });
  dynamo = await startLocalDynamoDb();
  await createPipelineTables(dynamo.client, { tokenTable: 'tokens', idempotencyTable: 'ledger' });
});
afterAll(async () => {
  await sandbox?.close();
  await dynamo?.close();
});

function container(): ZohoClient {
  return createZohoClient({
    hosts: resolveHosts('us', { accountsUrl: sandbox.accountsUrl, uploadUrl: sandbox.uploadUrl }),
    credentials: sandbox.credentials,
    tokenStore: createDynamoDbTokenStore({
      client: dynamo.client,
      tableName: 'tokens',
      clientId: sandbox.credentials.clientId,
    }),
  });
}

function tokenRequests(): number {
  return sandbox.inspect().requests.filter((r) => r.host === 'accounts').length;
}

describe('a fleet of containers', () => {
  it('mints one access token for all of them, and one more when Zoho expires it', async () => {
    const fleet = [container(), container(), container()];
    const leads = { module: 'Leads', recordId: sandbox.seed.Leads?.[0] ?? '' };
    const calls = () =>
      fleet.flatMap((zoho) => Array.from({ length: 20 }, () => zoho.listAttachments(leads)));

    await Promise.all(calls());
    expect(tokenRequests()).toBe(1);

    // Zoho's clock passes the hour: every container's calls answer 401 INVALID_TOKEN at once.
    sandbox.clock.advance(3_601_000);
    await Promise.all(calls());
    expect(tokenRequests()).toBe(2);
  });
});
