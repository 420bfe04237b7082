/**
 * OAuth scopes, checked per call as Zoho does: a token carries the scopes its grant gave, and a
 * call needing one it lacks is 401 OAUTH_SCOPE_MISMATCH (zoho-api.md, OAuth). A scope
 * `Service.resource.ALL` covers every operation (and every module) under it. What each call needs
 * follows Zoho's pages: seeds 001/004 (`ZohoCRM.modules.{module}.{operation}`), zoho-api.md's bulk
 * write (`ZohoCRM.bulk`, `ZohoFiles.files.ALL` on the file host), the org API (`ZohoCRM.org.READ`),
 * search (`ZohoSearch.securesearch.READ` besides the module's READ) and ZFS (crm-oas v8.0
 * files.json: `ZohoCRM.files.CREATE`).
 */
import type { HostKind, RequestContext } from './context.ts';

/** What the sandbox's own credentials and grant codes carry unless told otherwise. */
export const DEFAULT_SCOPES: readonly string[] = [
  'ZohoCRM.modules.ALL',
  'ZohoCRM.org.READ',
  'ZohoCRM.bulk.ALL',
  'ZohoFiles.files.ALL',
  'ZohoSearch.securesearch.READ',
  'ZohoCRM.files.CREATE',
  'ZohoCRM.files.READ',
  'ZohoCRM.settings.modules.READ',
  'ZohoCRM.settings.fields.READ',
];

const OPERATIONS: Record<string, string> = { GET: 'READ', POST: 'CREATE', PUT: 'UPDATE', DELETE: 'DELETE' };

/** The scopes a call needs, all of them. */
export function scopesFor(kind: HostKind, ctx: RequestContext): string[] {
  const operation = OPERATIONS[ctx.method] ?? 'ALL';
  if (kind === 'upload') return ['ZohoFiles.files.CREATE'];
  if (kind === 'download') return ['ZohoCRM.bulk.READ'];
  if (kind !== 'api') return [];
  if (ctx.path.startsWith('/crm/bulk/')) return [`ZohoCRM.bulk.${operation}`];
  if (/^\/crm\/[^/]+\/org$/.test(ctx.path)) return ['ZohoCRM.org.READ'];
  // crm-oas v8.0 files.json: ZFS uploads need ZohoCRM.files.CREATE, downloads ZohoCRM.files.READ.
  if (/^\/crm\/[^/]+\/files$/.test(ctx.path)) return [`ZohoCRM.files.${operation}`];
  // crm-oas v8.0 modules.json and fields.json: ZohoCRM.settings.{modules|fields}.READ (or ….ALL).
  const settings = /^\/crm\/[^/]+\/settings\/(modules|fields)$/.exec(ctx.path);
  if (settings) return [`ZohoCRM.settings.${settings[1]}.${operation}`];
  const module = ctx.params.module;
  if (!module) return [];
  const moduleScope = `ZohoCRM.modules.${module.toLowerCase()}.${operation}`;
  return ctx.path.endsWith('/search') ? [moduleScope, 'ZohoSearch.securesearch.READ'] : [moduleScope];
}

/** The first needed scope the granted ones do not cover, if any. */
export function missingScope(needed: readonly string[], granted: readonly string[]): string | undefined {
  const have = new Set(granted.map((s) => s.toLowerCase()));
  return needed.find((scope) => !covers(have, scope.toLowerCase()));
}

function covers(have: Set<string>, scope: string): boolean {
  if (have.has(scope)) return true;
  const parts = scope.split('.');
  for (let keep = parts.length - 1; keep >= 2; keep -= 1) {
    if (have.has(`${parts.slice(0, keep).join('.')}.all`)) return true;
  }
  return false;
}
