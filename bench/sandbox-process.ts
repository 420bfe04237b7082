/**
 * The sandbox in a process of its own, so its memory never mixes with the client's. Speaks to
 * bench/run.ts over IPC: it sends its URLs once ready, answers `attachments`, stops on `close`.
 */
import { startSandbox } from '#sandbox/server.ts';

const MiB = 1024 * 1024;

const sandbox = await startSandbox({ port: 0, attachmentMaxBytes: 256 * MiB, concurrencyLimit: 10 });

process.on('message', (message: { type: string }) => {
  if (message.type === 'attachments') {
    process.send?.({ type: 'attachments', attachments: sandbox.inspect().attachments });
  }
  if (message.type === 'close') {
    void sandbox.close().then(() => process.exit(0));
  }
});

process.send?.({
  type: 'ready',
  sandbox: {
    accountsUrl: sandbox.accountsUrl,
    apiUrl: sandbox.apiUrl,
    uploadUrl: sandbox.uploadUrl,
    credentials: sandbox.credentials,
    recordId: sandbox.seed.Leads?.[0],
  },
});
