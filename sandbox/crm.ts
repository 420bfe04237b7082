/**
 * The org's records: modules looked up by API name (case-insensitively, as Zoho accepts them),
 * records created and updated with Zoho's system fields, and the JSON shape Zoho sends them in.
 */
import { type Clock, zohoTime } from './clock.ts';
import { invalidModule, invalidRecordId } from './http.ts';
import { MODULES, type ModuleSpec, SEED_RECORDS, SEED_TIME } from './modules.ts';

/**
 * What Zoho takes as a record id, on Zoho's side of the contract (the client checks its own,
 * `ZOHO_ID` in functions/lib/zoho/types.ts): the sandbox's ids are 19 digits like Zoho's; anything
 * else finds no record and is answered INVALID_DATA (seed 001).
 */
const RECORD_ID = /^\d{1,20}$/;

export const SANDBOX_USER = {
  name: 'Sandbox Admin',
  id: '5725767000000100001',
  email: 'admin@sandbox.example',
};

export interface CrmRecord {
  id: string;
  module: string;
  fields: Record<string, unknown>;
  createdAt: number;
  modifiedAt: number;
  locked: boolean;
}

export interface Crm {
  modules: readonly ModuleSpec[];
  module(name: string): ModuleSpec | undefined;
  /** The module or 400 INVALID_MODULE. */
  requireModule(name: string): ModuleSpec;
  /** The record or 400 INVALID_DATA "the related id given seems to be invalid" (seed 001). */
  requireRecord(module: ModuleSpec, id: string): CrmRecord;
  /** The module and record a path names (`…/{module}/{id}/…`), each refused as above. */
  requireTarget(params: Record<string, string>): { module: ModuleSpec; record: CrmRecord };
  records(module: string): CrmRecord[];
  create(module: ModuleSpec, fields: Record<string, unknown>): CrmRecord;
  update(record: CrmRecord, fields: Record<string, unknown>): void;
  /** A record as Zoho's record APIs send it. */
  view(record: CrmRecord): Record<string, unknown>;
  /** Seeded ids per module, plus `locked`. */
  seed: Record<string, string[]>;
  /** Every record of every module. */
  all(): CrmRecord[];
  /** Puts these records in place of every record (a restart: persist.ts). */
  restore(saved: readonly CrmRecord[]): void;
}

export function createCrm(options: { clock: Clock; nextId: () => string }): Crm {
  const { clock, nextId } = options;
  const byName = new Map(MODULES.map((m) => [m.apiName.toLowerCase(), m]));
  const records = new Map<string, CrmRecord[]>(MODULES.map((m) => [m.apiName, []]));
  const byId = new Map<string, CrmRecord>();
  const seed: Record<string, string[]> = {};
  const locked: string[] = [];

  const insert = (record: CrmRecord) => {
    records.get(record.module)?.push(record);
    byId.set(`${record.module}/${record.id}`, record);
    return record;
  };

  for (const s of SEED_RECORDS) {
    insert({
      id: s.id,
      module: s.module,
      fields: { ...s.fields },
      createdAt: SEED_TIME,
      modifiedAt: SEED_TIME,
      locked: !!s.locked,
    });
    if (s.locked) locked.push(s.id);
    else seed[s.module] = [...(seed[s.module] ?? []), s.id];
  }
  seed.locked = locked;

  const module = (name: string) => byName.get(name.toLowerCase());
  const requireModule = (name: string) => {
    const spec = module(name);
    if (!spec || spec.subformOf) throw invalidModule();
    return spec;
  };
  const requireRecord = (spec: ModuleSpec, id: string) => {
    const record = RECORD_ID.test(id) ? byId.get(`${spec.apiName}/${id}`) : undefined;
    if (!record) throw invalidRecordId(id);
    return record;
  };

  return {
    modules: MODULES,
    module,
    requireModule,
    requireRecord,
    requireTarget(params) {
      const spec = requireModule(params.module ?? '');
      return { module: spec, record: requireRecord(spec, params.id ?? '') };
    },
    records: (name) => records.get(module(name)?.apiName ?? '') ?? [],
    create(spec, fields) {
      const now = clock.now();
      return insert({
        id: nextId(),
        module: spec.apiName,
        fields: { ...fields },
        createdAt: now,
        modifiedAt: now,
        locked: false,
      });
    },
    update(record, fields) {
      Object.assign(record.fields, fields);
      record.modifiedAt = clock.now();
    },
    view(record) {
      const user = { name: SANDBOX_USER.name, id: SANDBOX_USER.id };
      return {
        Owner: { ...SANDBOX_USER },
        ...record.fields,
        Created_Time: zohoTime(record.createdAt),
        Modified_Time: zohoTime(record.modifiedAt),
        Created_By: user,
        Modified_By: user,
        $locked_for_me: record.locked,
        $approval_state: record.locked ? 'approval_process_pending' : 'approved',
        id: record.id,
      };
    },
    seed,
    all: () => [...records.values()].flat(),
    restore(saved) {
      for (const list of records.values()) list.length = 0;
      byId.clear();
      for (const record of saved) insert(record);
    },
  };
}
