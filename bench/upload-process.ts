/**
 * One measured upload, in a fresh process: `stream` pushes the generated file through the Zoho
 * client; `buffer` reads it whole into memory first, then POSTs it with undici (the naive way).
 * Reports the peak RSS above the idle process (sampled every 10 ms) and the throughput.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { createZohoClient } from '#zoho/client.ts';
import { generatedStream } from './generated.ts';
import type { SandboxUrls } from './sandbox-process.ts';

export interface UploadJob {
  variant: 'stream' | 'buffer';
  size: number;
  fileName: string;
  sandbox: SandboxUrls;
}

export interface UploadResult {
  variant: UploadJob['variant'];
  attachmentId: string;
  idleRssBytes: number;
  peakRssBytes: number;
  seconds: number;
}

const SAMPLE_MS = 10;

function sampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, SAMPLE_MS);
  return {
    /** Also called between steps: a busy loop can starve the timer. */
    sample: () => {
      peak = Math.max(peak, process.memoryUsage.rss());
    },
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

async function idleRss(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  let max = 0;
  for (let i = 0; i < 10; i += 1) {
    max = Math.max(max, process.memoryUsage.rss());
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
  return max;
}

async function viaClient(job: UploadJob): Promise<UploadResult> {
  const { sandbox } = job;
  const client = createZohoClient({
    hosts: { accountsUrl: sandbox.accountsUrl, apiUrl: sandbox.apiUrl, uploadUrl: sandbox.uploadUrl },
    credentials: sandbox.credentials,
  });
  const target = { module: 'Leads', recordId: sandbox.recordId };
  await client.listAttachments(target); // token and connection warm, as in a running Lambda
  const idle = await idleRss();
  const memory = sampler();
  const started = performance.now();
  const { id } = await client.uploadAttachment(target, {
    body: generatedStream(job.size),
    fileName: job.fileName,
    size: job.size,
    contentType: 'application/pdf',
  });
  const seconds = (performance.now() - started) / 1000;
  return { variant: 'stream', attachmentId: id, idleRssBytes: idle, peakRssBytes: memory.stop(), seconds };
}

async function bufferedWithUndici(job: UploadJob): Promise<UploadResult> {
  const { sandbox } = job;
  const dispatcher = new Agent();
  const tokenAnswer = await request(`${sandbox.accountsUrl}/oauth/v2/token`, {
    dispatcher,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: sandbox.credentials.clientId,
      client_secret: sandbox.credentials.clientSecret,
      refresh_token: sandbox.credentials.refreshToken,
    }).toString(),
  });
  const { access_token: token, api_domain: apiDomain } = (await tokenAnswer.body.json()) as Record<
    string,
    string
  >;
  const url = `${apiDomain}/crm/v8/Leads/${sandbox.recordId}/Attachments`;
  const authorization = `Zoho-oauthtoken ${token}`;
  const warm = await request(`${url}?fields=id`, { dispatcher, headers: { authorization } });
  await warm.body.dump();
  const idle = await idleRss();
  const memory = sampler();
  const started = performance.now();

  const whole = Buffer.allocUnsafe(job.size);
  let at = 0;
  for await (const chunk of generatedStream(job.size)) {
    at += (chunk as Buffer).copy(whole, at);
    memory.sample();
  }
  const boundary = `----bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${job.fileName}"\r\nContent-Type: application/pdf\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  memory.sample();
  const answer = await request(url, {
    dispatcher,
    method: 'POST',
    headers: {
      authorization,
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + whole.length + tail.length),
    },
    // The parts go out as they are: no extra copy of the 100 MB on top of the one read.
    body: Readable.from([head, whole, tail]),
  });
  const body = (await answer.body.json()) as { data?: Array<{ details?: { id?: string } }> };
  const seconds = (performance.now() - started) / 1000;
  const id = body.data?.[0]?.details?.id;
  if (!id) throw new Error(`The buffered upload failed: ${JSON.stringify(body)}`);
  return { variant: 'buffer', attachmentId: id, idleRssBytes: idle, peakRssBytes: memory.stop(), seconds };
}

process.once('message', (job: UploadJob) => {
  const run = job.variant === 'stream' ? viaClient(job) : bufferedWithUndici(job);
  run.then(
    (result) => {
      process.send?.({ type: 'result', result }, () => process.exit(0));
    },
    (error: unknown) => {
      process.send?.({ type: 'error', message: error instanceof Error ? error.stack : String(error) }, () =>
        process.exit(1),
      );
    },
  );
});
process.send?.({ type: 'ready' });
