/**
 * `npm run demo`, against the running `npm start` of this folder (found in its run.json, under
 * .local or LOCAL_DIR; S3_PORT, BUCKET and SANDBOX_PORT, when set, win): drops an
 * attachment, a photo and a bulk write ZIP into the bucket, waits for each outcome on the
 * object's tags and prints them. With the real Zoho, DEMO_LEAD_ID names the Lead to use.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isFinal, readOutcome, type TaggedOutcome } from '#lib/pipeline/outcome-tags.ts';
import { readTagMap } from '#lib/s3/tags.ts';
import { localDir, readLocalRun } from '#tools/local/local-dir.ts';
import { DEFAULT_BUCKET, DEFAULT_S3_PORT, DEFAULT_SANDBOX_PORT } from '#tools/local/pipeline.ts';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { sampleBulkZip, samplePdf, samplePng } from '#tools/local/samples.ts';

// With the real Zoho a bulk job is looked at every BULK_POLL_SECONDS (default 60 s), not every 2 s.
const timeoutSeconds = Number(process.env.DEMO_TIMEOUT_SECONDS ?? (process.env.DEMO_LEAD_ID ? 180 : 60));
const local = await readLocalRun(localDir()).then(
  ({ run }) => run,
  () => undefined,
);
const endpoint = process.env.S3_PORT
  ? `http://127.0.0.1:${process.env.S3_PORT}`
  : (local?.s3Endpoint ?? `http://127.0.0.1:${DEFAULT_S3_PORT}`);
const bucket = process.env.BUCKET ?? local?.bucket ?? DEFAULT_BUCKET;
const sandboxUrl = process.env.SANDBOX_PORT
  ? `http://127.0.0.1:${process.env.SANDBOX_PORT}`
  : (local?.sandboxUrl ?? `http://127.0.0.1:${DEFAULT_SANDBOX_PORT}`);

interface Drop {
  kind: string;
  key: string;
  body: Buffer;
  contentType: string;
}

const leadId = process.env.DEMO_LEAD_ID ?? (await seededLeadId());
const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
const drops: Drop[] = [
  {
    kind: 'attachment',
    key: `attachments/Leads/${leadId}/Devis – café nº${stamp}.pdf`,
    body: samplePdf(`Quote ${stamp}, dropped by npm run demo`),
    contentType: 'application/pdf',
  },
  // A photo of its own each run: the same bytes dropped again are the same version, pushed once.
  {
    kind: 'photo',
    key: `photos/Leads/${leadId}.png`,
    body: samplePng(64, Date.now() % 256),
    contentType: 'image/png',
  },
  {
    kind: 'bulk-write',
    key: `bulk-write/Leads/insert/demo-${stamp}.zip`,
    body: await sampleBulkZip('leads.csv', [
      ['Last_Name', 'First_Name', 'Company', 'Email'],
      ['Lovelace', 'Ada', 'Analytical Engines', `ada.${stamp}@example.com`],
      ['Hopper', 'Grace', 'Compilers & Co', `grace.${stamp}@example.com`],
      ['Müller', 'Jürgen', 'Straße GmbH', `juergen.${stamp}@example.com`],
    ]),
    contentType: 'application/zip',
  },
];

const s3 = createLocalS3Client(endpoint);
const startedAt = Date.now();
try {
  for (const drop of drops) {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: drop.key, Body: drop.body, ContentType: drop.contentType }),
    );
    console.log(`dropped  ${drop.kind.padEnd(10)}  s3://${bucket}/${drop.key}  (${drop.body.length} bytes)`);
  }
} catch (error) {
  console.error(`Could not write to ${endpoint}: is npm start running? (${(error as Error).message})`);
  process.exit(1);
}

console.log(`\nwaiting for the outcomes (up to ${timeoutSeconds} s)…\n`);
const results = new Map<string, { outcome: TaggedOutcome; seconds: number }>();
const deadline = startedAt + timeoutSeconds * 1000;
while (results.size < drops.length && Date.now() < deadline) {
  for (const drop of drops) {
    if (results.has(drop.key)) continue;
    const outcome = await readOutcomeOf(drop.key);
    if (isFinal(outcome.status)) results.set(drop.key, { outcome, seconds: (Date.now() - startedAt) / 1000 });
  }
  if (results.size < drops.length) await new Promise((resolve) => setTimeout(resolve, 500));
}

const rows = await Promise.all(
  drops.map(async (drop) => {
    const result = results.get(drop.key);
    const outcome = result?.outcome ?? (await readOutcomeOf(drop.key));
    return [
      drop.kind,
      drop.key,
      result ? (outcome.status ?? '') : `${outcome.status ?? 'no outcome'} (timed out)`,
      outcome.zohoId ?? '',
      [outcome.code, outcome.reason].filter(Boolean).join(': '),
      result ? result.seconds.toFixed(1) : '',
    ];
  }),
);
printTable(['kind', 'key', 'status', 'zoho id', 'error', 'seconds'], rows);
s3.destroy();
process.exit(rows.every((row) => row[2] === 'done') ? 0 : 1);

async function readOutcomeOf(key: string): Promise<TaggedOutcome> {
  return readOutcome(await readTagMap(s3, bucket, key));
}

/** The first seeded Lead of the running sandbox. */
async function seededLeadId(): Promise<string> {
  let state: unknown;
  try {
    const response = await fetch(`${sandboxUrl}/__sandbox/state`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state = await response.json();
  } catch (error) {
    console.error(
      `Could not read the sandbox at ${sandboxUrl} (${(error as Error).message}). Is npm start running with the sandbox? With the real Zoho, set DEMO_LEAD_ID.`,
    );
    process.exit(1);
  }
  const seed = (state as { seed?: { Leads?: unknown[] } }).seed;
  const id = seed?.Leads?.[0];
  if (typeof id !== 'string') {
    console.error('The sandbox state names no seeded Lead; set DEMO_LEAD_ID.');
    process.exit(1);
  }
  return id;
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}
