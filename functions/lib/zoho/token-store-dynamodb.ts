/**
 * The fleet's shared access token, in DynamoDB. Zoho lets one refresh token mint at most 10
 * access tokens per 10 minutes and keep 15 alive: every Lambda container refreshing on its own
 * cold start would break both, so all of them read one item and only the lease holder mints.
 *
 * Item: { pk, accessToken, apiDomain, expiresAt (ms), leaseUntil (ms), leaseOwner }.
 * The access token is short-lived (1 h) and the table is encrypted at rest; the refresh token
 * itself never leaves Secrets Manager.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { AccessToken, TokenStore } from './types.ts';

export interface DynamoDbTokenStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Whose tokens: one item per OAuth client. Only a hash of it is stored. */
  clientId: string;
  now?: () => number;
}

export function createDynamoDbTokenStore(options: DynamoDbTokenStoreOptions): TokenStore {
  const { client, tableName } = options;
  const now = options.now ?? Date.now;
  const key = {
    pk: { S: `token#${createHash('sha256').update(options.clientId).digest('hex').slice(0, 32)}` },
  };
  const owner = randomUUID();

  return {
    async get() {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
      );
      const accessToken = Item?.accessToken?.S;
      const apiDomain = Item?.apiDomain?.S;
      const expiresAt = Number(Item?.expiresAt?.N);
      if (!accessToken || !apiDomain || !Number.isFinite(expiresAt)) return undefined;
      return { accessToken, apiDomain, expiresAt } satisfies AccessToken;
    },

    async put(token) {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression:
            'SET accessToken = :t, apiDomain = :d, expiresAt = :e REMOVE leaseUntil, leaseOwner',
          ExpressionAttributeValues: {
            ':t': { S: token.accessToken },
            ':d': { S: token.apiDomain },
            ':e': { N: String(token.expiresAt) },
          },
        }),
      );
    },

    async acquireLease(ttlMs) {
      const at = now();
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'SET leaseUntil = :until, leaseOwner = :owner',
            ConditionExpression:
              'attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :owner',
            ExpressionAttributeValues: {
              ':until': { N: String(at + ttlMs) },
              ':owner': { S: owner },
              ':now': { N: String(at) },
            },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    async releaseLease() {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression: 'REMOVE leaseUntil, leaseOwner',
            ConditionExpression: 'leaseOwner = :owner',
            ExpressionAttributeValues: { ':owner': { S: owner } },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}
