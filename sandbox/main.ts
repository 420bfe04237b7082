/**
 * `npm run sandbox`: the Zoho CRM sandbox on its own, for a client or `npm start` in another
 * terminal. Port from SANDBOX_PORT or PORT (default 8780, 0 for a free one).
 */
import { startSandbox } from './server.ts';

const DEFAULT_PORT = 8780;

function portFromEnv(): number {
  const raw = process.env.SANDBOX_PORT ?? process.env.PORT;
  if (raw === undefined || raw === '') return DEFAULT_PORT;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`SANDBOX_PORT/PORT must be a port number (0-65535), got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return port;
}

const sandbox = await startSandbox({
  port: portFromEnv(),
  host: process.env.SANDBOX_HOST ?? '127.0.0.1',
}).catch((error: NodeJS.ErrnoException) => {
  console.error(
    error.code === 'EADDRINUSE'
      ? `The port is in use (${error.message}). Choose another with SANDBOX_PORT or PORT (0 for a free one).`
      : `The sandbox did not start: ${error.message}`,
  );
  process.exit(1);
});

const { credentials, seed } = sandbox;
console.log(`Zoho CRM sandbox at ${sandbox.url}
  accounts  ${sandbox.accountsUrl}   (POST /oauth/v2/token)
  api       ${sandbox.apiUrl}        (/crm/v8/…, /crm/bulk/v8/write…)
  upload    ${sandbox.uploadUrl}    (POST /crm/v8/upload)
  admin     ${sandbox.url}/__sandbox/state  (also /requests, /faults, /clock, /records, /grant-code)

Credentials (sandbox only, not Zoho's):
  ZOHO_CLIENT_ID=${credentials.clientId}
  ZOHO_CLIENT_SECRET=${credentials.clientSecret}
  ZOHO_REFRESH_TOKEN=${credentials.refreshToken}

Seeded records:`);
for (const [module, ids] of Object.entries(seed)) console.log(`  ${module.padEnd(12)} ${ids.join(' ')}`);
console.log('\nCtrl+C to stop.');

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    sandbox.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
