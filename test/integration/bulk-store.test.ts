/** The bulk import record in DynamoDB (dynalite): conditional writes, and what is read back is checked. */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportState } from '#lib/pipeline/bulk/machine.ts';
import { createImportStore, type ImportStore } from '#lib/pipeline/bulk/store.ts';
import { createPipelineTables, type LocalDynamoDb, startLocalDynamoDb } from '#tools/local/dynamodb.ts';

let dynamo: LocalDynamoDb;
let store: ImportStore;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  await createPipelineTables(dynamo.client, {
    tokenTable: 'tokens',
    idempotencyTable: 'ledger',
    importsTable: 'imports',
  });
  store = createImportStore(dynamo.client, 'imports');
});
afterAll(() => dynamo?.close());

const fresh = (write: string): ImportState => ({
  write,
  attempt: 1,
  status: 'creating',
  source: { bucket: 'inbox', key: 'bulk-write/Leads/insert/a.zip', eTag: '"e"' },
  module: 'Leads',
  operation: 'insert',
  csv: 'a.csv',
  startedAt: 1,
  deadline: 2,
  parts: [],
  version: 1,
});

describe('import store', () => {
  it('creates once, and saves only from the version it read', async () => {
    const state = fresh('inbox/a#1');
    expect(await store.create(state)).toBe(true);
    expect(await store.create(state)).toBe(false);
    const read = await store.get(state.write);
    expect(read).toEqual(state);
    const saved = await store.save({ ...(read as ImportState), status: 'following' });
    expect(saved?.version).toBe(2);
    // A second delivery that read version 1 loses.
    expect(await store.save({ ...(read as ImportState), status: 'failed' })).toBeUndefined();
    expect((await store.get(state.write))?.status).toBe('following');
  });

  it.each([
    ['a job id that is not Zoho’s digits', { parts: [{ rows: 1, state: 'created', jobId: '../../evil' }] }],
    ['an unknown status', { status: 'pushing' }],
    ['another write’s record', { write: 'inbox/other#1' }],
    ['counts of the wrong type', { parts: [{ rows: 1, state: 'finished', counts: { added: 'many' } }] }],
  ])('refuses a damaged record: %s', async (_what, damage) => {
    const write = `inbox/damaged-${Math.random()}`;
    const { version: _v, ...body } = { ...fresh(write), ...damage };
    await dynamo.client.send(
      new PutItemCommand({
        TableName: 'imports',
        Item: { id: { S: write }, version: { N: '1' }, state: { S: JSON.stringify(body) } },
      }),
    );
    await expect(store.get(write)).rejects.toMatchObject({
      code: 'BULK_IMPORT_RECORD_INVALID',
      retryable: false,
    });
  });

  it('finds the latest import of the same bytes under a key in an unversioned bucket, for a replay', async () => {
    const source = { bucket: 'inbox', key: 'bulk-write/Leads/insert/weekly.zip', eTag: '"abc"' };
    expect(await store.lastWriteOf(source)).toBeUndefined();
    await store.create({ ...fresh('inbox/bulk-write/Leads/insert/weekly.zip#abc#01'), source });
    await store.create({ ...fresh('inbox/bulk-write/Leads/insert/weekly.zip#abc#02'), source });
    expect(await store.lastWriteOf(source)).toBe('inbox/bulk-write/Leads/insert/weekly.zip#abc#02');
    // Other bytes under the key are another import's; a version names its import itself.
    expect(await store.lastWriteOf({ ...source, eTag: '"def"' })).toBeUndefined();
    const versioned = { ...source, key: 'bulk-write/Leads/insert/v.zip', versionId: 'v1' };
    await store.create({ ...fresh('inbox/bulk-write/Leads/insert/v.zip#v1'), source: versioned });
    expect(await store.lastWriteOf(versioned)).toBeUndefined();
  });

  it('never follows a pointer to another key’s import', async () => {
    const source = { bucket: 'inbox', key: 'bulk-write/Leads/insert/p.zip', eTag: '"e1"' };
    await dynamo.client.send(
      new PutItemCommand({
        TableName: 'imports',
        Item: {
          id: { S: 'latest:inbox/bulk-write/Leads/insert/p.zip#e1' },
          write: { S: 'inbox/other.zip#e1#1' },
        },
      }),
    );
    expect(await store.lastWriteOf(source)).toBeUndefined();
  });
});
