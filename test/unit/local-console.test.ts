/**
 * What `npm start` prints: the banner's examples are keys the routes in force take, the commands
 * it shows are the short `--local` forms README documents, and every operator command's usage is
 * the `npm run` form (a machine's own node may be older than the project's).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { compileRoutes, DEFAULT_ROUTES, routeKey } from '#lib/routing/route.ts';
import { type BannerFacts, banner, exampleKeys, routesInForce } from '#tools/local/console.ts';

const ROOT = join(import.meta.dirname, '../..');
const RECORD = '5725767000000412001';
const DEAL = '5725767000000415001';

const facts = (routes?: string): BannerFacts => ({
  s3Endpoint: 'http://127.0.0.1:4569',
  bucket: 'inbox',
  zoho: 'sandbox at http://127.0.0.1:8780',
  seeded: { Leads: [RECORD], Deals: [DEAL] },
  sandboxUrl: 'http://127.0.0.1:8780',
  localDir: '/somewhere/.local',
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  routes,
  logLevel: 'WARN',
});

describe("the banner's example keys", () => {
  it('are one per default route, each taken by that very route', () => {
    const routes = compileRoutes(DEFAULT_ROUTES);
    const examples = exampleKeys(DEFAULT_ROUTES, { Leads: [RECORD] });
    expect(examples.map((example) => example.name)).toEqual(DEFAULT_ROUTES.map((route) => route.name));
    for (const example of examples) {
      const routed = routeKey(routes, example.key);
      expect(routed.ok ? routed.value.route : routed.error.message).toBe(example.name);
    }
    expect(examples.find((example) => example.name === 'bulk-write')?.key).toBe(
      'bulk-write/Leads/insert/leads.zip',
    );
  });

  it('come from ROUTES when it is set, and none of the default ones are shown', () => {
    const custom = JSON.stringify([
      {
        name: 'deal-docs',
        kind: 'attachment',
        pattern: 'attachments/deals/{recordId}/{fileName}',
        module: 'Deals',
      },
      {
        name: 'contact-imports',
        kind: 'bulk-write',
        pattern: 'bulk-write/contacts/{fileName}.zip',
        module: 'Contacts',
        operation: 'upsert',
      },
    ]);
    expect(routesInForce(custom).map((route) => route.name)).toEqual(['deal-docs', 'contact-imports']);
    const text = banner(facts(custom));
    expect(text).toContain(`deal-docs            attachments/deals/${DEAL}/file.pdf`);
    expect(text).toContain('contact-imports      bulk-write/contacts/leads.zip');
    expect(text).toContain(`aws s3 cp ./file.pdf s3://inbox/attachments/deals/${DEAL}/file.pdf`);
    expect(text).not.toContain('attachments/Leads/');
    expect(text).not.toContain('photos/');
  });
});

describe('the banner, README and --help', () => {
  it('show the same short commands for a local run', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const text = banner(facts());
    for (const command of ['npm run status -- --local', 'npm run replay -- --local --prefix attachments/']) {
      expect(text).toContain(command);
      expect(readme).toContain(command);
    }
  });

  it('say the same of what a restart keeps', async () => {
    const readme = (await readFile(join(ROOT, 'README.md'), 'utf8')).replace(/\s+/g, ' ');
    const text = banner(facts()).replace(/\s+/g, ' ');
    for (const kept of ['npm start -- --fresh', 'crash']) {
      expect(text).toContain(kept);
      expect(readme).toContain(kept);
    }
    expect(readme).not.toContain('starts again from its seed');
    expect(text).not.toContain('starts again from its seed');
    expect(readme).not.toContain('starts empty');
  });

  it('give every operator command its usage in the npm run form', async () => {
    const run = promisify(execFile);
    const usages = await Promise.all(
      ['status', 'replay', 'auth'].map(async (name) => {
        const { stdout } = await run(process.execPath, [join(ROOT, 'scripts/ops', `${name}.ts`), '--help'], {
          cwd: ROOT,
        });
        return { name, stdout };
      }),
    );
    for (const { name, stdout } of usages) {
      expect(stdout).toMatch(new RegExp(`^Usage:\\s+npm run ${name} -- `));
      expect(stdout).not.toContain('node scripts/');
    }
  });
});
