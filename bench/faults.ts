/**
 * `npm run bench:faults`: files through the whole local pipeline (embedded S3, local queues with
 * their retries, the real handlers) against the Zoho sandbox while about a fifth of Zoho's
 * answers are faults: 500s and 429s drawn at random, uploads reset mid-body, answers lost after
 * the upload was stored, tokens revoked (the sandbox clock jumps past their hour), slow answers.
 * Some files are put twice with the same bytes (an uploader retrying its PUT, at once or later)
 * and some events are delivered twice. Then it counts what Zoho holds against what was dropped:
 * delivered once, lost, duplicated, wrong bytes, wrongly failed, token mints, time to settle.
 *
 * FAULT_FILES (default 1000) sets the number of distinct files; the figures are printed as a
 * Markdown table and written to bench/results/fault-run.md; with `--update` also into BENCHMARKS.md,
 * section "Fault run".
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, GetObjectTaggingCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isFinal, readOutcome } from '#lib/pipeline/outcome-tags.ts';
import { decodeS3EventKey } from '#lib/s3/event.ts';
import { readTagMap } from '#lib/s3/tags.ts';
import { startLocalPipeline } from '#tools/local/pipeline.ts';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { s3EventFor } from '#tools/ops/requeue.ts';
import { machine, writeSection } from './common.ts';

const FILES = Number(process.env.FAULT_FILES ?? 1000);
const REPUT_SHARE = 0.1;
const DUPLICATE_EVENT_SHARE = 0.05;
const SETTLE_LIMIT_MS = 6 * 60_000;
const GOAL_MS = 3 * 60_000;
const SECTION = '## Fault run';

interface Dropped {
  key: string;
  module: string;
  recordId: string;
  fileName: string;
  sha256: string;
  body: Buffer;
}

process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // the handlers' metrics lines would drown the table
const directory = await mkdtemp(join(os.tmpdir(), 's3-to-zoho-faults-'));
const pipeline = await startLocalPipeline({
  env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'SILENT', PUSH_RETRY_BASE_MS: '200', PATH: process.env.PATH },
  s3Port: Number(process.env.S3_PORT ?? 4608),
  dynamodbPort: 0,
  sqsPort: 0,
  sandboxPort: Number(process.env.SANDBOX_PORT ?? 8808),
  directory,
  functionTimeoutSeconds: 30,
  visibilityTimeoutSeconds: 30,
  sendTestEvents: false,
});
const sandbox = pipeline.sandbox;
if (!sandbox) throw new Error('bench:faults runs against the sandbox: unset the ZOHO_* credentials');
const s3 = createLocalS3Client(pipeline.s3Endpoint);

const records = ['Leads', 'Contacts', 'Accounts', 'Deals'].flatMap((module) =>
  (sandbox.seed[module] ?? []).map((recordId) => ({ module, recordId })),
);
const files: Dropped[] = Array.from({ length: FILES }, (_, i) => {
  const target = records[i % records.length] as { module: string; recordId: string };
  const body = Buffer.concat([Buffer.from(`file ${i}\n`), randomBytes(1024 + ((i * 7919) % 30_000))]);
  const fileName = `report ${i}.bin`;
  return {
    ...target,
    fileName,
    key: `attachments/${target.module}/${target.recordId}/${fileName}`,
    sha256: createHash('sha256').update(body).digest('hex'),
    body,
  };
});

// 16% of calls answered 500 or 429 at random; the rest of the fifth comes from the injector below.
sandbox.faults.set({ rate500: 0.08, rate429: 0.08, seed: 8 });
let injecting = true;
let revoked = 0;
const injector = (async () => {
  // Resets and lost answers as a share of the uploads (about 4% each), whatever the traffic: each
  // tick arms as many as the uploads seen since the last one call for.
  let lastSeq = 0;
  let owed = 0;
  for (let tick = 0; injecting; tick += 1) {
    const requests = sandbox.inspect().requests.filter((r) => r.seq > lastSeq);
    lastSeq = requests.at(-1)?.seq ?? lastSeq;
    owed += 0.04 * requests.filter((r) => r.method === 'POST' && r.host === 'api').length;
    const armed = Math.floor(owed);
    owed -= armed;
    sandbox.faults.set({
      ...(armed > 0 ? { resetDuringUpload: armed, dropResponseAfterUpload: armed } : {}),
      latencyMs: tick % 10 < 2 ? 400 : 0, // slow answers two ticks in ten
    });
    if (tick % 80 === 79) {
      sandbox.clock.advance(3601 * 1000); // every access token dies in Zoho's eyes
      revoked += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
})();

const started = Date.now();
const put = (file: Dropped) =>
  s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key: file.key, Body: file.body }));
let reputs = 0;
let duplicateEvents = 0;
await Promise.all(
  Array.from({ length: 8 }, async (_, lane) => {
    for (let i = lane; i < files.length; i += 8) {
      const file = files[i] as Dropped;
      const answer = await put(file);
      if ((i * 13) % 100 < REPUT_SHARE * 100) {
        reputs += 1;
        // Half at once (an uploader retrying), half a few seconds later (a sync tool, a person).
        if (i % 2 === 0) await put(file);
        else setTimeout(() => void put(file), 2_000 + (i % 5_000));
      }
      if ((i * 17) % 100 < DUPLICATE_EVENT_SHARE * 100) {
        duplicateEvents += 1;
        const event = s3EventFor(
          pipeline.bucket,
          { key: file.key, size: file.body.length, eTag: answer.ETag ?? '', versionId: undefined },
          { region: 'us-east-1', eventTime: new Date(), sequencer: `${Date.now().toString(16)}FF` },
        );
        pipeline.queues.attachment.send(JSON.stringify(event));
      }
    }
  }),
);

/** The keys an S3 event (a queue message's body) names. */
const keysOf = (body: string): string[] =>
  ((JSON.parse(body) as { Records?: Array<{ s3: { object: { key: string } } }> }).Records ?? []).map((r) =>
    decodeS3EventKey(r.s3.object.key),
  );
const statusOf = async (file: Dropped) => readOutcome(await readTagMap(s3, pipeline.bucket, file.key)).status;
let statuses: Array<string | undefined> = [];
let settledMs = Number.NaN;
while (Date.now() - started < SETTLE_LIMIT_MS) {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  statuses = [];
  for (const file of files) statuses.push(await statusOf(file));
  const dead = new Set(pipeline.queues.attachment.deadLetters.flatMap((d) => keysOf(d.body)));
  const pending = files.filter((file, i) => !isFinal(statuses[i]) && !dead.has(file.key)).length;
  const counts = pipeline.queues.attachment.counts();
  if (pending === 0 && counts.visible === 0 && counts.inFlight === 0) {
    settledMs = Date.now() - started;
    break;
  }
}
injecting = false;
await injector;
sandbox.faults.reset();

const snapshot = sandbox.inspect();
let once = 0;
let lost = 0;
let duplicated = 0;
let wrongBytes = 0;
for (const file of files) {
  const same = snapshot.attachments.filter(
    (a) => a.module === file.module && a.recordId === file.recordId && a.fileName === file.fileName,
  );
  const exact = same.filter((a) => a.sha256 === file.sha256).length;
  if (exact === 1) once += 1;
  if (exact === 0) lost += 1;
  if (exact > 1) duplicated += 1;
  wrongBytes += same.length - exact;
}
const wronglyFailed = statuses.filter((s) => s === 'failed').length;
const deadLetters = pipeline.queues.attachment.deadLetters;
const deadLettered = deadLetters.length;
for (const letter of deadLetters) {
  process.stderr.write(
    `dead-lettered ${keysOf(letter.body).join(', ')}: ${letter.lastError ?? 'no reason'}\n`,
  );
}
for (const [i, file] of files.entries()) {
  if (isFinal(statuses[i])) continue;
  const { TagSet = [] } = await s3.send(
    new GetObjectTaggingCommand({ Bucket: pipeline.bucket, Key: file.key }),
  );
  const stored = await s3.send(new GetObjectCommand({ Bucket: pipeline.bucket, Key: file.key }));
  const bytes = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
  const same = createHash('sha256').update(bytes).digest('hex') === file.sha256;
  const posts = snapshot.requests.filter(
    (entry) => entry.method === 'POST' && entry.path.includes(file.recordId),
  );
  for (const r of posts.slice(-6)) {
    process.stderr.write(
      `  ${r.seq} ${r.path} ${r.status} ${r.code ?? ''} ${r.outcome ?? ''} ${r.bodyBytes} ${r.headers['content-length']} ${r.files.map((f) => f.fileName).join()}\n`,
    );
  }
  process.stderr.write(
    `not final: ${file.key} (S3 holds ${bytes.length} of ${file.body.length} bytes, Content-Length ${stored.ContentLength}, ${same ? 'same' : 'other'} bytes): ${TagSet.map((t) => `${t.Key}=${t.Value}`).join(' ')}\n`,
  );
}
const mints = snapshot.tokens.accessTokens.length;
const apiCalls = snapshot.requests.filter((r) => r.host === 'api' || r.host === 'upload');
const faulted = apiCalls.filter((r) => r.outcome !== undefined || r.status === 0 || r.status >= 429).length;
await pipeline.close();
await rm(directory, { recursive: true, force: true });

const settled = Number.isNaN(settledMs)
  ? `not within ${SETTLE_LIMIT_MS / 60_000} min`
  : `${(settledMs / 1000).toFixed(0)} s`;
const rows: Array<[string, string, string]> = [
  ['files dropped (distinct)', String(FILES), ''],
  ['identical re-puts / extra deliveries of an event', `${reputs} / ${duplicateEvents}`, ''],
  ['delivered once (one attachment, the file’s own bytes)', String(once), `${FILES}`],
  ['lost', String(lost), '0'],
  ['duplicated (two or more attachments of one file)', String(duplicated), '0'],
  ['attachments with another file’s bytes under a file’s name', String(wrongBytes), '0'],
  ['wrongly failed (tagged failed) / dead-lettered', `${wronglyFailed} / ${deadLettered}`, '0 / 0'],
  ['access tokens minted / tokens revoked by the run', `${mints} / ${revoked}`, ''],
  [
    'Zoho calls faulted (of the last ≤ 5,000 logged)',
    `${faulted} of ${apiCalls.length} (${((100 * faulted) / Math.max(apiCalls.length, 1)).toFixed(0)}%)`,
    '≈ 20%',
  ],
  ['time to settle (first put to every object final)', settled, `≤ ${GOAL_MS / 60_000} min`],
];
const table = [
  '| measure | result | goal |',
  '|---|---|---|',
  ...rows.map(([what, result, goal]) => `| ${what} | ${result} | ${goal} |`),
].join('\n');
const text = `${SECTION}

Command: \`npm run bench:faults\` (\`node bench/faults.ts\`, FAULT_FILES=${FILES}), ${new Date().toISOString().slice(0, 10)},
${machine()}.
Faults: 8% 500 and 8% 429 drawn at random on the API and file hosts, about 4% of uploads reset
mid-body and 4% whose answer is lost after the upload was stored, answers slowed by 400 ms a fifth
of the time, every access token revoked every 20 s; function timeout and queue retry 30 s.

${table}
`;
process.stdout.write(`${text}\n`);
writeSection(SECTION, text);
process.exit(lost + duplicated + wrongBytes + wronglyFailed === 0 ? 0 : 1);
