/**
 * The sandbox in a process of its own, as Zoho is a service of its own: its work never shares
 * the client's memory or event loop. Speaks over IPC: sends its URLs once ready (`ready`);
 * answers `latency` (sets the answer latency), `attachments` (what it holds), `stats` (429s,
 * token mints, peak calls in flight); stops on `close`.
 */
import { startSandbox } from '#sandbox/server.ts';
import type { OAuthCredentials } from '#zoho/types.ts';

export interface SandboxUrls {
  accountsUrl: string;
  apiUrl: string;
  uploadUrl: string;
  credentials: OAuthCredentials;
  /** A seeded Lead. */
  recordId: string;
}

export interface SandboxStats {
  type: 'stats';
  tooManyRequests: number;
  tokenMints: number;
  peakInFlight: number;
  /** The sandbox's concurrency limit (Zoho Standard edition: 10). */
  concurrencyLimit: number;
}

const MiB = 1024 * 1024;

const sandbox = await startSandbox({ port: 0, attachmentMaxBytes: 256 * MiB, concurrencyLimit: 10 });

process.on('message', (message: { type: string; latencyMs?: number }) => {
  if (message.type === 'latency') {
    sandbox.faults.set({ latencyMs: message.latencyMs ?? 0 });
    process.send?.({ type: 'latency' });
  }
  if (message.type === 'attachments') {
    process.send?.({ type: 'attachments', attachments: sandbox.inspect().attachments });
  }
  if (message.type === 'stats') {
    const { requests, tokens, concurrency } = sandbox.inspect();
    const stats: SandboxStats = {
      type: 'stats',
      tooManyRequests: requests.filter((request) => request.status === 429).length,
      tokenMints: tokens.accessTokens.length,
      peakInFlight: concurrency.peak,
      concurrencyLimit: concurrency.limit,
    };
    process.send?.(stats);
  }
  if (message.type === 'close') {
    void sandbox.close().then(() => process.exit(0));
  }
});

const sandboxUrls: SandboxUrls = {
  accountsUrl: sandbox.accountsUrl,
  apiUrl: sandbox.apiUrl,
  uploadUrl: sandbox.uploadUrl,
  credentials: sandbox.credentials,
  recordId: sandbox.seed.Leads?.[0] ?? '',
};
process.send?.({ type: 'ready', sandbox: sandboxUrls });
