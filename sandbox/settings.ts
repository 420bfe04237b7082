/**
 * Module and field metadata, as Zoho's SDKs read it before a record call (the TypeScript SDK
 * 8.0's utils/util/utility.js, getFields → `GET /crm/v8/settings/fields?module=`, getModules →
 * `GET /crm/v8/settings/modules`): the sandbox's modules and fields (modules.ts) in the shapes of
 * crm-oas v8.0 modules.json `modules` and fields.json `fields`. Only the properties that say what
 * a module or field is are sent; ⚠ the spec marks dozens more as required (layouts, profiles,
 * colour codes…) that describe Zoho's UI, which the sandbox does not have.
 */

import { zohoTime } from './clock.ts';
import type { Route } from './context.ts';
import { type Crm, SANDBOX_USER } from './crm.ts';
import { invalidModule, json, requiredParamMissing } from './http.ts';
import type { FieldType, ModuleSpec } from './modules.ts';
import { SEED_TIME } from './modules.ts';

const V = '(?<v>v[2-8](?:\\.\\d)?)';
/** Standard modules are `default`, the org's own `custom` (modules.json `generated_type`). */
const CUSTOM_MODULE = /__c$/;

/** A field type's `data_type` and `json_type`, as Zoho names them (fields.json; the SDK's Utility.apiTypeVsDataType). */
const TYPES: Record<FieldType, { data_type: string; json_type: string; length: number }> = {
  text: { data_type: 'text', json_type: 'string', length: 255 },
  email: { data_type: 'email', json_type: 'string', length: 100 },
  phone: { data_type: 'phone', json_type: 'string', length: 30 },
  number: { data_type: 'double', json_type: 'double', length: 16 },
  date: { data_type: 'date', json_type: 'string', length: 20 },
  boolean: { data_type: 'boolean', json_type: 'boolean', length: 5 },
  lookup: { data_type: 'lookup', json_type: 'jsonobject', length: 120 },
  fileupload: { data_type: 'fileupload', json_type: 'jsonarray', length: 255 },
};
const OWNER = { data_type: 'ownerlookup', json_type: 'jsonobject', length: 120 };

/** The module a lookup field points at, by the sandbox's field names. */
const LOOKUP_TARGETS: Record<string, string> = {
  Account_Name: 'Accounts',
  Contact_Name: 'Contacts',
  Vendor_Name: 'Vendors',
  Who_Id: 'Contacts',
  What_Id: 'Accounts',
};

export function settingsRoutes(crm: Crm): Route[] {
  return [
    {
      host: 'api',
      pattern: new RegExp(`^/crm/${V}/settings/modules$`),
      methods: {
        GET: async () => json(200, { modules: crm.modules.filter((m) => !m.subformOf).map(moduleView) }),
      },
    },
    {
      host: 'api',
      pattern: new RegExp(`^/crm/${V}/settings/fields$`),
      methods: {
        async GET(ctx) {
          const name = ctx.query.get('module');
          if (!name) throw requiredParamMissing('module');
          const module = crm.module(name);
          if (!module) throw invalidModule();
          return json(200, {
            fields: Object.entries(module.fields).map((f) => fieldView(crm, module, ...f)),
          });
        },
      },
    },
  ];
}

function moduleView(module: ModuleSpec): Record<string, unknown> {
  const label = module.apiName.replace(/__c$/, '').replace(/_/g, ' ');
  return {
    id: module.id,
    api_name: module.apiName,
    module_name: module.apiName,
    singular_label: label,
    plural_label: label,
    generated_type: CUSTOM_MODULE.test(module.apiName) ? 'custom' : 'default',
    api_supported: true,
    creatable: true,
    editable: true,
    deletable: true,
    viewable: true,
    visible: true,
    visibility: 1,
    convertable: module.apiName === 'Leads',
    show_as_tab: true,
    modified_time: zohoTime(SEED_TIME),
    modified_by: { name: SANDBOX_USER.name, id: SANDBOX_USER.id },
    parent_module: {},
    profiles: [],
  };
}

function fieldView(crm: Crm, module: ModuleSpec, apiName: string, type: FieldType): Record<string, unknown> {
  const ownerLookup = apiName === 'Owner';
  const { data_type, json_type, length } = ownerLookup ? OWNER : TYPES[type];
  const label = apiName.replace(/_/g, ' ');
  const target = apiName === 'Parent_Id' ? (module.subformOf ?? undefined) : LOOKUP_TARGETS[apiName];
  const targetModule = target ? crm.module(target) : undefined;
  return {
    id: `${module.id}${Object.keys(module.fields).indexOf(apiName)}`,
    api_name: apiName,
    field_label: label,
    display_label: label,
    data_type,
    json_type,
    system_mandatory: module.mandatory.includes(apiName),
    custom_field: type === 'fileupload' || CUSTOM_MODULE.test(module.apiName),
    read_only: false,
    field_read_only: false,
    visible: true,
    length,
    unique: module.uniqueFields.includes(apiName) ? { casesensitive: 'false' } : null,
    lookup:
      type === 'lookup' && targetModule && !ownerLookup
        ? {
            display_label: label,
            api_name: apiName,
            module: { api_name: targetModule.apiName, id: targetModule.id },
          }
        : null,
    pick_list_values: [],
    // fields.json `file_upolad_optionlist`: where a file for the field may come from.
    file_upolad_optionlist:
      type === 'fileupload' ? [{ actual_value: 'desktop', display_value: 'Desktop' }] : [],
    subform: null,
    formula: null,
    currency: null,
  };
}
