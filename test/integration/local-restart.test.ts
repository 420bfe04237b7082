/**
 * `npm start` stopped and started again on the same `.local` folder remembers as AWS and Zoho do:
 * the ledger (DynamoDB on disk), the sandbox's records, attachments and id counter, the objects.
 * What a kill -9 leaves in flight is bench/crash-run.ts's (crash.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readTagMap } from '#lib/s3/tags.ts';
import { type Landing, type LocalPipeline, startLocalPipeline } from '#tools/local/pipeline.ts';
import { createLocalS3Client } from '#tools/local/s3.ts';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const SANDBOX_ENV = { ZOHO_CLIENT_ID: '', ZOHO_CLIENT_SECRET: '', ZOHO_REFRESH_TOKEN: '' };
const localDir = await mkdtemp(path.join(os.tmpdir(), 'local-restart-'));

afterAll(() => rm(localDir, { recursive: true, force: true }));

async function start(): Promise<{ pipeline: LocalPipeline; landings: Landing[] }> {
  const pipeline = await startLocalPipeline({
    localDir,
    s3Port: 0,
    dynamodbPort: 0,
    sqsPort: 0,
    sandboxPort: 0,
    logLevel: 'SILENT',
    sendTestEvents: false,
    env: SANDBOX_ENV,
  });
  const landings: Landing[] = [];
  pipeline.on('landed', (landing) => landings.push(landing));
  return { pipeline, landings };
}

/** Puts `body` under `key` and waits for its final outcome. */
async function drop(run: { pipeline: LocalPipeline; landings: Landing[] }, key: string, body: string) {
  const s3 = createLocalS3Client(run.pipeline.s3Endpoint);
  try {
    await s3.send(new PutObjectCommand({ Bucket: run.pipeline.bucket, Key: key, Body: body }));
    await vi.waitFor(
      () => expect(run.landings.find((l) => l.key === key && l.status !== 'pushing')).toBeDefined(),
      { timeout: 30_000, interval: 50 },
    );
    return await readTagMap(s3, run.pipeline.bucket, key);
  } finally {
    s3.destroy();
  }
}

describe('npm start restarted on the same .local folder', () => {
  it('keeps the sandbox, the ledger and the ids: nothing pushed twice, no id given twice', async () => {
    const first = await start();
    const leadId = first.pipeline.sandbox?.seed.Leads?.[0] ?? '';
    const key = `attachments/Leads/${leadId}/a.txt`;
    const before = await drop(first, key, 'first bytes');
    const recordId = first.pipeline.sandbox?.createRecord('Leads', { Last_Name: 'Kept' });
    await first.pipeline.close();

    const second = await start();
    try {
      const sandbox = second.pipeline.sandbox;
      // The sandbox holds what it held: the attachment under its id, the record made before.
      expect(sandbox?.inspect().attachments.map((a) => a.id)).toEqual([before['zoho-id']]);
      expect(sandbox?.inspect().records.Leads?.map((r) => r.id)).toContain(recordId);
      // The ledger too: the same bytes put again under the key are not pushed again.
      const again = await drop(second, key, 'first bytes');
      expect(again).toMatchObject({ 'zoho-status': 'skipped', 'zoho-id': before['zoho-id'] });
      // New ids go on from the old ones.
      const other = await drop(second, `attachments/Leads/${leadId}/b.txt`, 'other bytes');
      expect(other['zoho-status'], JSON.stringify(second.landings)).toBe('done');
      expect(BigInt(other['zoho-id'] ?? 0)).toBeGreaterThan(BigInt(recordId ?? 0));
      expect(sandbox?.inspect().attachments).toHaveLength(2);
    } finally {
      await second.pipeline.close();
    }
  }, 90_000);
});
