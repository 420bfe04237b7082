/** The fleet's shared access token on a real DynamoDB API (dynalite): one minter at a time. */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineTables, type LocalDynamoDb, startLocalDynamoDb } from '#tools/local/dynamodb.ts';
import { createDynamoDbTokenStore } from '#zoho/token-store-dynamodb.ts';

let dynamo: LocalDynamoDb;
let clock = 1_000_000;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  await createPipelineTables(dynamo.client, { tokenTable: 'tokens', idempotencyTable: 'ledger' });
});
afterAll(() => dynamo?.close());

function container(clientId = 'client-a') {
  return createDynamoDbTokenStore({ client: dynamo.client, tableName: 'tokens', clientId, now: () => clock });
}

describe('DynamoDB token store', () => {
  it('gives the lease to one container at a time, and the token it mints to all', async () => {
    const [a, b, c] = [container(), container(), container()];
    expect(await a.get()).toBeUndefined();
    const leases = await Promise.all([
      a.acquireLease(30_000),
      b.acquireLease(30_000),
      c.acquireLease(30_000),
    ]);
    expect(leases.filter(Boolean)).toHaveLength(1);

    const minter = [a, b, c][leases.indexOf(true)];
    await minter?.put({
      accessToken: 'sandbox-token-1',
      apiDomain: 'http://127.0.0.1:1/api',
      expiresAt: clock + 3_600_000,
    });
    for (const store of [a, b, c]) {
      expect(await store.get()).toEqual({
        accessToken: 'sandbox-token-1',
        apiDomain: 'http://127.0.0.1:1/api',
        expiresAt: clock + 3_600_000,
      });
    }
    // Putting the token ends the lease: the next expiry can be minted by anyone.
    expect(await b.acquireLease(30_000)).toBe(true);
    await b.releaseLease();
  });

  it('lets another container take a lease its holder never gave back once it runs out', async () => {
    const [a, b] = [container('client-b'), container('client-b')];
    expect(await a.acquireLease(10_000)).toBe(true);
    expect(await b.acquireLease(10_000)).toBe(false);
    clock += 10_001;
    expect(await b.acquireLease(10_000)).toBe(true);
    // The old holder's release no longer touches the new holder's lease.
    await a.releaseLease();
    expect(await a.acquireLease(10_000)).toBe(false);
  });

  it('keeps one item per OAuth client, keyed by a hash, never the client id itself', async () => {
    const store = container('client-c');
    await store.put({
      accessToken: 'sandbox-token-c',
      apiDomain: 'http://127.0.0.1:1/api',
      expiresAt: clock,
    });
    expect(await container('client-d').get()).toBeUndefined();
    const { Items = [] } = await dynamo.client.send(new ScanCommand({ TableName: 'tokens' }));
    expect(JSON.stringify(Items)).not.toContain('client-c');
  });
});
