/**
 * DynamoDB on this machine: dynalite with the pipeline's tables, in memory or, given a path, in a
 * LevelDB database on disk that outlives the process as DynamoDB outlives a crashed Lambda.
 */
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { LOCAL_REGION } from './s3.ts';

export interface DynaliteServer {
  endpoint: string;
  close(): Promise<void>;
}

export interface LocalDynamoDb extends DynaliteServer {
  client: DynamoDBClient;
}

type ServerOptions = {
  port?: number;
  host?: string;
  /**
   * The folder of the LevelDB database that keeps the tables (created if missing); default none:
   * in memory. LevelDB writes each change to its log before dynalite answers, so a kill -9 loses none.
   */
  path?: string;
};

/** The server and a client of it. */
export async function startLocalDynamoDb(options: ServerOptions = {}): Promise<LocalDynamoDb> {
  const server = await startDynaliteServer(options);
  const client = createLocalDynamoDbClient(server.endpoint);
  return {
    endpoint: server.endpoint,
    client,
    async close() {
      client.destroy();
      await server.close();
    },
  };
}

/** The server alone, for a process that serves DynamoDB but never calls it (the storage worker). */
export async function startDynaliteServer(options: ServerOptions = {}): Promise<DynaliteServer> {
  if (options.path) await mkdir(options.path, { recursive: true });
  const server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    endpoint: `http://${address.address}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      server.closeAllConnections();
      await closed;
    },
  };
}

export function createLocalDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: LOCAL_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

/**
 * The tables of the pipeline contract: tokens keyed by `pk`, Powertools idempotency records keyed
 * by `id` (its TTL attribute `expiration` needs no declaration to be written), bulk imports by `id`.
 */
export async function createPipelineTables(
  client: DynamoDBClient,
  tables: { tokenTable: string; idempotencyTable: string; importsTable?: string },
): Promise<void> {
  await createTable(client, tables.tokenTable, 'pk');
  await createTable(client, tables.idempotencyTable, 'id');
  // Bulk imports, one item per import keyed by its write id (functions/lib/pipeline/bulk/store.ts).
  if (tables.importsTable) await createTable(client, tables.importsTable, 'id');
}

async function createTable(client: DynamoDBClient, name: string, partitionKey: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

/**
 * Ends the leases an earlier run left in the token table: Zoho call slots (zoho/fleet/)
 * and the right to mint the access token (zoho/token-store-dynamodb.ts). A local run's fleet is
 * its one process, so a lease the table holds is a gone process's: nothing it does will end it. In
 * AWS a dead container's leases run out by themselves (30 s); a restart need not wait for that.
 * With `forgetAccessTokens`, the cached access token goes too: the sandbox may listen on another
 * port now, and the token names its old one (`apiDomain`); the next call mints a new one.
 */
export async function releaseLeases(
  client: DynamoDBClient,
  tokenTable: string,
  options: { forgetAccessTokens: boolean },
): Promise<number> {
  const forget = options.forgetAccessTokens ? ['accessToken', 'apiDomain', 'expiresAt'] : [];
  let released = 0;
  let startKey: Record<string, never> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tokenTable,
        FilterExpression: `attribute_exists(holder) OR attribute_exists(leaseOwner)${forget.length > 0 ? ' OR attribute_exists(accessToken)' : ''}`,
        ProjectionExpression: 'pk',
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      await client.send(
        new UpdateItemCommand({
          TableName: tokenTable,
          Key: { pk: item.pk ?? { S: '' } },
          UpdateExpression: `REMOVE ${['holder', '#until', 'wanted', 'leaseUntil', 'leaseOwner', ...forget].join(', ')}`,
          ExpressionAttributeNames: { '#until': 'until' },
        }),
      );
      released += 1;
    }
    startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (startKey);
  return released;
}
