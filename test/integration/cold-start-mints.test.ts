/**
 * One access token per expiry, from the first call: `npm start`'s pipeline in real-Zoho mode
 * (ZOHO_* credentials and explicit host URLs) against the sandbox as a Zoho of its own, in its own
 * process, mints one token for its first files of every kind, not one per kind or per call. Zoho
 * allows 10 per refresh token per 10 minutes, shared with every other tool the customer runs
 * (zoho-api.md, OAuth).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Landing, type LocalPipeline, startLocalPipeline } from '#tools/local/pipeline.ts';
import { createLocalS3Client } from '#tools/local/s3.ts';
import { sampleBulkZip, samplePdf, samplePng } from '#tools/local/samples.ts';

const ROOT = path.join(import.meta.dirname, '../..');

interface SandboxProcess {
  child: ChildProcess;
  url: string;
  credentials: Record<string, string>;
  leadId: string;
}

/** `npm run sandbox` on a free port; its banner gives the URL, the credentials and the seeded Leads. */
async function startSandboxProcess(): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['sandbox/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, SANDBOX_PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let banner = '';
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the sandbox process ended (${code}): ${banner}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
      if (banner.includes('Ctrl+C')) resolve();
    });
  });
  const credentials = Object.fromEntries(
    [...banner.matchAll(/^\s+(ZOHO_\w+)=(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]),
  );
  return {
    child,
    url: banner.match(/sandbox at (http:\S+)/)?.[1] ?? '',
    credentials,
    leadId: banner.match(/^\s+Leads\s+(\d+)/m)?.[1] ?? '',
  };
}

let zoho: SandboxProcess;
let pipeline: LocalPipeline;
let directory: string;
const landings: Landing[] = [];

beforeAll(async () => {
  zoho = await startSandboxProcess();
  directory = await mkdtemp(path.join(os.tmpdir(), 'cold-start-'));
  pipeline = await startLocalPipeline({
    s3Port: 0,
    dynamodbPort: 0,
    sqsPort: 0,
    directory,
    logLevel: 'SILENT',
    // As `npm start` with a Zoho of one's own: credentials, data centre and every host given.
    env: {
      ...process.env,
      ...zoho.credentials,
      ZOHO_DC: 'us',
      ZOHO_ACCOUNTS_URL: `${zoho.url}/accounts`,
      ZOHO_API_URL: `${zoho.url}/api`,
      ZOHO_UPLOAD_URL: `${zoho.url}/content`,
    },
  });
  pipeline.on('landed', (landing) => landings.push(landing));
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  zoho?.child.kill('SIGTERM');
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function zohoState(): Promise<{
  tokens: { accessTokens: unknown[] };
  requests: Array<{ host: string }>;
}> {
  return (await fetch(`${zoho.url}/__sandbox/state`)).json() as never;
}

describe('a cold npm start against a Zoho of its own', () => {
  it('mints one access token for its first files of every kind', async () => {
    expect(pipeline.zoho.mode).toBe('real');
    expect((await zohoState()).tokens.accessTokens).toHaveLength(0);

    const s3 = createLocalS3Client(pipeline.s3Endpoint);
    const drops: Array<[string, Buffer]> = [
      [`attachments/Leads/${zoho.leadId}/quote.pdf`, samplePdf('quote')],
      [`fields/Leads/${zoho.leadId}/Documents/brochure.pdf`, samplePdf('brochure')],
      [`photos/Leads/${zoho.leadId}.png`, samplePng(32, 7)],
      [
        'bulk-write/Leads/insert/leads.zip',
        await sampleBulkZip('leads.csv', [
          ['Last_Name', 'Email'],
          ['Lovelace', 'ada@example.com'],
        ]),
      ],
    ];
    try {
      await Promise.all(
        drops.map(([Key, Body]) => s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key, Body }))),
      );
    } finally {
      s3.destroy();
    }
    await vi.waitFor(
      () => {
        const files = landings.filter((l) => !l.key.startsWith('bulk-write/') && l.status !== 'pushing');
        expect(files.map((l) => l.status)).toEqual(['done', 'done', 'done']);
        // The bulk import has its job at Zoho: every call of the first round is made.
        expect(landings.find((l) => l.key.startsWith('bulk-write/'))?.zohoId).toMatch(/^\d+$/);
      },
      { timeout: 40_000, interval: 100 },
    );

    const state = await zohoState();
    expect(state.requests.filter((r) => r.host === 'accounts')).toHaveLength(1);
    expect(state.tokens.accessTokens).toHaveLength(1);
  }, 60_000);
});
