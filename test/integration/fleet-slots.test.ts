/**
 * Zoho's concurrency limit is per org: containers of every kind share it through slots in the
 * token table (DynamoDB, here dynalite). The sum of calls in flight never passes the budget, one
 * busy kind may use all of it, a flood of one kind leaves the others their floor, and the slots
 * of a container that died come free when its leases end.
 */
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import {
  createLocalDynamoDbClient,
  createPipelineTables,
  type LocalDynamoDb,
  startLocalDynamoDb,
} from '#tools/local/dynamodb.ts';
import { createZohoClient } from '#zoho/client.ts';
import { slotKeys } from '#zoho/fleet/keys.ts';
import { createFleetSlots } from '#zoho/fleet/slots.ts';
import { resolveHosts } from '#zoho/hosts.ts';
import type { Pacer } from '#zoho/pacing.ts';
import { createDynamoDbTokenStore } from '#zoho/token-store-dynamodb.ts';

const FLOORS = { attachment: 1, photo: 1, 'bulk-write': 1 };
let dynamo: LocalDynamoDb;
let table = '';
let tables = 0;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
});
afterAll(async () => {
  // Slots given back after their linger (20 ms) and the last looks of a poller still write: let them
  // land before the table goes, or dynalite answers them with "Database is closed".
  await new Promise((resolve) => setTimeout(resolve, 500));
  await dynamo?.close();
});
beforeEach(async () => {
  tables += 1;
  table = `tokens-${tables}`;
  await createPipelineTables(dynamo.client, { tokenTable: table, idempotencyTable: `ledger-${tables}` });
});

function slots(kind: string, budget: number, options: { leaseMs?: number } = {}): Pacer {
  return createFleetSlots({
    client: dynamo.client,
    tableName: table,
    kind,
    budget,
    floors: FLOORS,
    ...options,
  });
}

/** Runs `calls` turns of `holdMs` each through `pacer`, counting the turns held at once across all pacers. */
function load(counter: { now: number; peak: number }) {
  return async (pacer: Pacer, calls: number, holdMs: number) => {
    await Promise.all(
      Array.from({ length: calls }, async () => {
        const release = await pacer.acquire();
        counter.now += 1;
        counter.peak = Math.max(counter.peak, counter.now);
        await new Promise((resolve) => setTimeout(resolve, holdMs));
        counter.now -= 1;
        release();
      }),
    );
  };
}

describe('fleet slots', () => {
  it('never let the fleet pass the budget, and let one busy kind use all of it', async () => {
    const counter = { now: 0, peak: 0 };
    const run = load(counter);
    // One busy kind, two containers of it: it takes its floor, the shared slots and the others' idle floors.
    const client = createLocalDynamoDbClient(dynamo.endpoint);
    const writes: string[] = [];
    client.middlewareStack.add(
      (next) => (args) => {
        const update = (args.input as { UpdateExpression?: string }).UpdateExpression;
        if (update) writes.push(update);
        return next(args);
      },
      { step: 'initialize' },
    );
    const container = () =>
      createFleetSlots({ client, tableName: table, kind: 'attachment', budget: 5, floors: FLOORS });
    await Promise.all([run(container(), 15, 30), run(container(), 15, 30)]);
    expect(counter.peak).toBe(5);
    // Containers of one kind wait for each other's slots without marking them wanted.
    expect(writes.filter((update) => update.includes('wanted ='))).toEqual([]);
    client.destroy();

    const mixed = { now: 0, peak: 0 };
    const runMixed = load(mixed);
    await Promise.all([
      runMixed(slots('attachment', 5), 20, 20),
      runMixed(slots('photo', 5), 20, 20),
      runMixed(slots('bulk-write', 5), 10, 20),
    ]);
    expect(mixed.peak).toBeLessThanOrEqual(5);
    expect(mixed.peak).toBeGreaterThanOrEqual(4);
  });

  it('keep a flood of one kind from starving another: it gets its floor back while the flood goes on', async () => {
    const counter = { now: 0, peak: 0 };
    let done = 0;
    const flooding = slots('attachment', 4);
    const flood = Promise.all(
      Array.from({ length: 200 }, () => load(counter)(flooding, 1, 25).then(() => (done += 1))),
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const release = await slots('photo', 4).acquire();
    // The flood holds every slot, the photo floor borrowed: once it sees the photo kind wants it,
    // it gives it back after the call in progress. The photo call waits a look or two, not the flood.
    expect(done).toBeLessThan(120);
    release();
    await flood;
  });

  it('hand a borrowed slot its kind does not want straight to the next waiting call, with no write', async () => {
    const client = createLocalDynamoDbClient(dynamo.endpoint);
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(context.commandName ?? '?');
        return next(args);
      },
      { step: 'initialize' },
    );
    // Budget 3 with a floor of 1 each: the attachment container's own slot, and the two others borrowed.
    const pacer = createFleetSlots({
      client,
      tableName: table,
      kind: 'attachment',
      budget: 3,
      floors: FLOORS,
    });
    const held = await Promise.all([pacer.acquire(), pacer.acquire(), pacer.acquire()]);
    const waiting = [pacer.acquire(), pacer.acquire(), pacer.acquire()];
    sent.length = 0;
    for (const release of held) release();
    const handedOn = await Promise.all(waiting);
    // No give back and take again: the table is not written.
    expect(sent.filter((command) => command === 'UpdateItemCommand')).toEqual([]);
    for (const release of handedOn) release();
    client.destroy();
  });

  it('free the slots of a container that died when its leases end', async () => {
    const keys = slotKeys('photo', 3, FLOORS);
    const until = Date.now() + 400;
    for (const key of [...keys.own, ...keys.shared, ...keys.others]) {
      await dynamo.client.send(
        new PutItemCommand({
          TableName: table,
          Item: { pk: { S: key }, holder: { S: 'a-container-that-died' }, until: { N: String(until) } },
        }),
      );
    }
    const release = await slots('photo', 3).acquire();
    release();
    expect(Date.now()).toBeGreaterThanOrEqual(until);
  });

  it('give up waiting at the caller deadline', async () => {
    const holder = slots('attachment', 3);
    const held = await Promise.all([holder.acquire(), holder.acquire(), holder.acquire()]);
    await expect(slots('photo', 3).acquire(AbortSignal.timeout(150))).rejects.toThrow();
    for (const release of held) release();
  });
});

describe('Zoho clients sharing fleet slots', () => {
  let sandbox: Sandbox;
  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0, concurrencyLimit: 4 });
    sandbox.faults.set({ latencyMs: 40 });
  });
  afterAll(async () => {
    await sandbox?.close();
  });

  it('stay within the org limit across containers of every kind: no 429, peak at the limit', async () => {
    const container = (kind: string) =>
      createZohoClient({
        hosts: resolveHosts('us', { accountsUrl: sandbox.accountsUrl, uploadUrl: sandbox.uploadUrl }),
        apiVersion: 'v8',
        credentials: sandbox.credentials,
        tokenStore: createDynamoDbTokenStore({
          client: dynamo.client,
          tableName: table,
          clientId: sandbox.credentials.clientId,
        }),
        maxInFlight: 10,
        fleetSlots: slots(kind, 4),
        retry: { maxAttempts: 1 },
      });
    const fleet = [container('attachment'), container('attachment'), container('photo')];
    const leads = { module: 'Leads', recordId: sandbox.seed.Leads?.[0] ?? '' };
    await Promise.all(fleet.flatMap((zoho) => Array.from({ length: 15 }, () => zoho.listAttachments(leads))));
    const state = sandbox.inspect();
    expect(state.requests.filter((request) => request.status === 429)).toEqual([]);
    expect(state.concurrency.peak).toBe(4);
  });
});
