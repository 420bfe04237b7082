/**
 * An object whose owner already gave it the ten tags S3 allows: the file is pushed, the user's
 * tags stay, and the outcome that found no room is said in a warning (with the key and the tags
 * dropped) and counted (OutcomeTagsDropped), never dropped in silence.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PutObjectTaggingCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Harness, startHarness } from './pipeline-harness.ts';

let h: Harness;
let leadId: string;

beforeAll(async () => {
  // This file reads the logs and the metrics the other pipeline tests keep quiet.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  h = await startHarness({ log: new Logger({ serviceName: 's3-to-zoho-attachment', logLevel: 'WARN' }) });
  leadId = h.sandbox.seed.Leads?.[0] ?? '';
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await h?.close();
});

/** What the handlers print (JSON log lines on stderr for warnings, EMF metrics on stdout) while `run` runs. */
async function printedBy(run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const chunks: string[] = [];
  const capture = (chunk: unknown) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  try {
    await run();
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return chunks
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("an object with ten tags of the user's", () => {
  it('is pushed, keeps its tags, and the dropped outcome is logged with the key and counted', async () => {
    const key = `attachments/Leads/${leadId}/ten-tags.txt`;
    const event = await h.put(key, 'a file its owner tagged ten times');
    const TagSet = Array.from({ length: 10 }, (_, i) => ({ Key: `team-${i}`, Value: `v${i}` }));
    await h.s3.send(new PutObjectTaggingCommand({ Bucket: h.bucket, Key: key, Tagging: { TagSet } }));

    let failed: string[] = [];
    const lines = await printedBy(async () => {
      failed = await h.deliver('attachment', event);
    });

    expect(failed).toEqual([]);
    expect(await h.tags(key)).toEqual(Object.fromEntries(TagSet.map((t) => [t.Key, t.Value])));
    expect(h.sandbox.inspect().attachments.filter((a) => a.fileName === 'ten-tags.txt')).toHaveLength(1);
    const warnings = lines.filter((line) => line.level === 'WARN' && /No room/.test(String(line.message)));
    // Two writes found no room: `pushing` before the upload, then `done`.
    expect(warnings).toHaveLength(2);
    expect(warnings.at(-1)).toMatchObject({
      key,
      dropped: expect.arrayContaining(['zoho-status', 'zoho-id']),
      outcome: expect.objectContaining({ 'zoho-status': 'done' }),
    });
    const counted = lines.find((line) => 'OutcomeTagsDropped' in line);
    expect(counted?.OutcomeTagsDropped).toEqual([1, 1]);
  });
});
