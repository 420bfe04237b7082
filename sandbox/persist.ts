/**
 * The sandbox's state on disk, so a restarted sandbox holds what it held, as Zoho does: records,
 * attachments (their bytes stay in the files folder beside the state), photos, ZFS and field
 * files, bulk files and jobs with their results, OAuth tokens and grant codes, the credentials and
 * the id counter (ids never repeat). `npm start` keeps it under `.local/sandbox`.
 *
 * One JSON file, `state.json`, written whole to a new file renamed over the old, so a kill -9 leaves
 * either the old state or the new. The dispatcher saves before each answer (dispatch.ts): what a
 * client was told is kept. Answers that come together share one write.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Crm, CrmRecord } from './crm.ts';
import type { ModuleSpec } from './modules.ts';
import type { Credentials } from './oauth.ts';

/** Every Map of state, by name, as the route modules expose them (`maps`). */
export type StateMaps = Record<string, Map<string, unknown>>;

export interface PersistedParts {
  crm: Crm;
  maps: StateMaps;
  /** The next id the counter gives. */
  nextId(): bigint;
}

interface SavedState {
  version: 1;
  nextId: string;
  credentials: Credentials;
  records: CrmRecord[];
  maps: Record<string, Map<string, unknown>>;
}

const STATE_FILE = 'state.json';

/** The state saved in `directory`, or undefined when there is none yet. */
export async function loadState(
  directory: string,
  crm: Crm,
): Promise<Omit<SavedState, 'version'> | undefined> {
  let text: string;
  try {
    text = await readFile(join(directory, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const saved = JSON.parse(text, (_key, value: unknown) => revive(value, crm)) as SavedState;
  if (saved.version !== 1)
    throw new Error(`${join(directory, STATE_FILE)}: unknown version ${saved.version}`);
  return saved;
}

/** Puts a loaded state in place: the records, and every map's entries. */
export function restoreState(saved: Omit<SavedState, 'version'>, parts: PersistedParts): void {
  parts.crm.restore(saved.records);
  for (const [name, map] of Object.entries(parts.maps)) {
    map.clear();
    for (const [key, value] of saved.maps[name] ?? []) map.set(key, value);
  }
  relinkMintedTokens(parts.maps);
  for (const job of parts.maps.bulkJobs?.values() ?? []) {
    const held = job as { resultBytes?: Buffer; resultZip?: Promise<Buffer> };
    if (held.resultBytes) held.resultZip = Promise.resolve(held.resultBytes);
    delete held.resultBytes;
  }
}

/**
 * A saver: `save()` resolves once a write begun after the call is on disk. Calls that come while
 * a write runs share the next one.
 */
export function createSaver(
  directory: string,
  parts: PersistedParts,
  credentials: Credentials,
): { save(): Promise<void> } {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const write = async () => {
    await mkdir(directory, { recursive: true });
    const text = await serialize(parts, credentials);
    const temporary = join(directory, `${STATE_FILE}.${process.pid}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, join(directory, STATE_FILE));
  };
  return {
    save() {
      if (!running) {
        running = write().finally(() => {
          running = undefined;
        });
        return running;
      }
      next ??= running
        .catch(() => undefined)
        .then(() => {
          next = undefined;
          return this.save();
        });
      return next;
    },
  };
}

async function serialize(parts: PersistedParts, credentials: Credentials): Promise<string> {
  // A completed job's result ZIP is kept as its bytes.
  const results = new Map<unknown, Buffer>();
  for (const job of parts.maps.bulkJobs?.values() ?? []) {
    const zip = (job as { resultZip?: Promise<Buffer> }).resultZip;
    if (zip) results.set(job, await zip.catch(() => Buffer.alloc(0)));
  }
  const state: SavedState = {
    version: 1,
    nextId: parts.nextId().toString(),
    credentials,
    records: parts.crm.all(),
    maps: parts.maps,
  };
  return JSON.stringify(state, function replace(this: Record<string, unknown>, key, value: unknown) {
    const raw = this[key];
    if (Buffer.isBuffer(raw)) return { $buffer: raw.toString('base64') };
    if (raw instanceof Map) return { $map: [...raw.entries()] };
    if (raw instanceof Promise) return undefined;
    // A bulk job's module is the module's spec: kept by its name.
    if (key === 'module' && isModuleSpec(raw)) return { $module: raw.apiName };
    // A refresh token's minted access tokens are entries of the access token map: kept by token.
    if (key === 'minted' && Array.isArray(raw)) return { $tokens: raw.map((token) => token.token) };
    if (results.has(raw)) return { ...(value as object), resultBytes: results.get(raw) };
    return value;
  });
}

function revive(value: unknown, crm: Crm): unknown {
  if (!value || typeof value !== 'object') return value;
  if ('$buffer' in value) return Buffer.from(String(value.$buffer), 'base64');
  if ('$map' in value) return new Map(value.$map as Array<[string, unknown]>);
  if ('$module' in value) return crm.module(String(value.$module));
  return value;
}

function relinkMintedTokens(maps: StateMaps): void {
  const accessTokens = maps.accessTokens;
  for (const refreshToken of maps.refreshTokens?.values() ?? []) {
    const held = refreshToken as { minted: unknown };
    const tokens = (held.minted as { $tokens?: string[] } | undefined)?.$tokens ?? [];
    held.minted = tokens.map((token) => accessTokens?.get(token)).filter(Boolean);
  }
}

function isModuleSpec(value: unknown): value is ModuleSpec {
  return typeof value === 'object' && value !== null && 'apiName' in value && 'fields' in value;
}
