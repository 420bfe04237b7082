/**
 * Module and field metadata, as Zoho's SDKs read it before a record call (the TypeScript SDK
 * 8.0's utils/util/utility.js, getFields → `GET /crm/v8/settings/fields?module=`, getModules →
 * `GET /crm/v8/settings/modules`): the sandbox's modules and fields (modules.ts) in the shapes of
 * crm-oas v8.0 modules.json `#/components/schemas/modules` and fields.json
 * `#/components/schemas/fields`. What says what a module or field is comes from modules.ts; every
 * other property those schemas mark `required` (layouts, colour codes, tooltips… Zoho's UI, which
 * the sandbox does not have) comes from a template of the values an org that never set them up
 * holds: false, null where the schema allows it, empty lists, objects of nulls or blanks.
 */

import { zohoTime } from './clock.ts';
import type { Route } from './context.ts';
import { type Crm, SANDBOX_USER } from './crm.ts';
import { json, requiredParamMissing, ZohoFailure } from './http.ts';
import type { FieldType, ModuleSpec } from './modules.ts';
import { SEED_TIME } from './modules.ts';

const V = '(?<v>v[2-8](?:\\.\\d)?)';
/** Standard modules are `default`, the org's own `custom` (modules.json `generated_type`). */
const CUSTOM_MODULE = /__c$/;

interface TypeInfo {
  data_type: string;
  json_type: string;
  length: number;
  /** fields.json `ui_type` (an int32 crm-oas does not enumerate): the sandbox's own code per type. */
  ui_type: number;
}

/** A field type's `data_type` and `json_type`, as Zoho names them (fields.json; the SDK's Utility.apiTypeVsDataType). */
const TYPES: Record<FieldType, TypeInfo> = {
  text: { data_type: 'text', json_type: 'string', length: 255, ui_type: 1 },
  email: { data_type: 'email', json_type: 'string', length: 100, ui_type: 25 },
  phone: { data_type: 'phone', json_type: 'string', length: 30, ui_type: 33 },
  number: { data_type: 'double', json_type: 'double', length: 16, ui_type: 38 },
  date: { data_type: 'date', json_type: 'string', length: 20, ui_type: 24 },
  boolean: { data_type: 'boolean', json_type: 'boolean', length: 5, ui_type: 301 },
  lookup: { data_type: 'lookup', json_type: 'jsonobject', length: 120, ui_type: 133 },
  fileupload: { data_type: 'fileupload', json_type: 'jsonarray', length: 255, ui_type: 501 },
};
const OWNER: TypeInfo = {
  data_type: 'ownerlookup',
  json_type: 'jsonobject',
  length: 120,
  ui_type: 8,
};

/** The module a lookup field points at, by the sandbox's field names. */
const LOOKUP_TARGETS: Record<string, string> = {
  Account_Name: 'Accounts',
  Contact_Name: 'Contacts',
  Vendor_Name: 'Vendors',
  Who_Id: 'Contacts',
  What_Id: 'Accounts',
};

/** modules.json / fields.json Minified_Module that names no module (both properties nullable). */
const NO_MODULE = { api_name: null, id: null };
const USER = { name: SANDBOX_USER.name, id: SANDBOX_USER.id };

/**
 * The rest of crm-oas v8.0 modules.json `#/components/schemas/modules/required`, as a standard
 * module of a new org answers it: no layouts, related lists or profiles set up through the sandbox.
 */
const MODULE_DEFAULTS: Record<string, unknown> = {
  'common.search_supported': true,
  description: null,
  recycle_bin_on_delete: true,
  inventory_template_supported: false,
  presence_sub_menu: true,
  triggers_supported: true,
  chart_view: false,
  chart_view_supported: true,
  isBlueprintSupported: true,
  emailTemplate_support: true,
  email_parser_supported: false,
  filter_supported: true,
  filter_status: true,
  web_link: null,
  quick_create: true,
  feeds_required: false,
  scoring_supported: true,
  webform_supported: true,
  arguments: [],
  profile_count: 0,
  profiles: [],
  business_card_field_limit: 5,
  business_card_fields: [],
  track_current_data: false,
  parent_module: {},
  // modules.json activity_badge is nullable, yet its enum (Enabled, Disabled) leaves null out.
  activity_badge: 'Enabled',
  $field_states: [],
  per_page: null,
  $properties: [],
  $on_demand_properties: [],
  search_layout_fields: [],
  kanban_view_supported: false,
  kanban_view: false,
  lookup_field_properties: { fields: [] },
  related_lists: [],
  // modules.json related_list_properties.sort_by: fields.json Minified_Field, both nullable.
  related_list_properties: { sort_by: { api_name: null, id: null }, fields: [], sort_order: null },
  display_field: null,
  layouts: [],
  fields: [],
  zia_view: false,
  default_mapping_fields: [],
  layout_associations: [],
};

/** Where a standard module differs from the template (Notes and Tasks hang off other records). */
const MODULE_OVERRIDES: Record<string, Record<string, unknown>> = {
  Leads: { convertable: true },
  Products: { webform_supported: false },
  Vendors: { webform_supported: false },
  Notes: {
    activity_badge: 'Disabled',
    quick_create: false,
    show_as_tab: false,
    emailTemplate_support: false,
    scoring_supported: false,
    webform_supported: false,
    chart_view_supported: false,
    isBlueprintSupported: false,
  },
  Tasks: {
    activity_badge: 'Disabled',
    emailTemplate_support: false,
    scoring_supported: false,
    webform_supported: false,
  },
};

/**
 * The rest of crm-oas v8.0 fields.json `#/components/schemas/fields/required`, as a field nobody
 * customised answers it. Zoho sends null for most of the objects here; the schema makes them
 * objects, so they come as objects of nulls (their properties are nullable) or empty strings.
 */
const FIELD_DEFAULTS: Record<string, unknown> = {
  associated_module: NO_MODULE,
  webhook: true,
  blueprint_supported: false,
  virtual_field: false,
  customizable_properties: [],
  businesscard_supported: true,
  available_in_user_layout: true,
  display_field: false,
  pick_list_values_sorted_lexically: false,
  layout_associations: [],
  separator: false,
  enable_colour_code: false,
  colour_code_enabled_by_system: false,
  type: 'used',
  display_type: -1,
  show_type: 7,
  category: 0,
  email_parser: { fields_update_supported: false, record_operations_supported: false },
  rollup_summary: null,
  refer_from_field: { id: null, api_name: null },
  multi_module_lookup: null,
  // modules.json sharing_properties (the schema fields.json points at) requires nothing.
  sharing_properties: {},
  profiles: [],
  sub_module: NO_MODULE,
  external: { show: false, type: null },
  convert_mapping: {},
  multiselectlookup: null,
  multiuserlookup: {
    display_label: null,
    linking_module: NO_MODULE,
    connected_module: NO_MODULE,
    lookup_apiname: null,
    api_name: null,
    connectedfield_apiname: null,
    connectedlookup_apiname: null,
    id: null,
    record_access: null,
  },
  autonumber: { starting_number_length: 0, prefix: null, suffix: null, start_number: null },
  auto_number: null,
  pick_list_values: [],
  crypt: { mode: null, status: null },
  // fields.json tooltip: `name` and `value` are required strings; a field without one is blank.
  tooltip: { name: '', value: '' },
  history_tracking: { module: {}, duration_configured_field: NO_MODULE },
  association_details: { related_field: NO_MODULE, lookup_field: NO_MODULE },
  allowed_modules: [],
  additional_column: null,
  'common.picklist': null,
  hipaa_compliance_enabled: false,
  hipaa_compliance: { restricted_in_export: false, restricted: false },
  _update_existing_records: false,
  number_separator: false,
  textarea: {},
  static_field: false,
  subform: null,
  formula: null,
  currency: null,
};

export function settingsRoutes(crm: Crm): Route[] {
  return [
    {
      host: 'api',
      pattern: new RegExp(`^/crm/${V}/settings/modules$`),
      methods: {
        GET: async () =>
          json(200, { modules: crm.modules.filter((m) => !m.subformOf).map((m, i) => moduleView(m, i + 1)) }),
      },
    },
    {
      host: 'api',
      pattern: new RegExp(`^/crm/${V}/settings/fields$`),
      methods: {
        async GET(ctx) {
          const name = ctx.query.get('module');
          // crm-oas v8.0 fields.json #/components/schemas/MandatoryParamError (`details.param_name`).
          if (!name) throw requiredParamMissing('module');
          const module = crm.module(name);
          if (!module) throw unknownModule();
          return json(200, {
            fields: Object.entries(module.fields).map((f) => fieldView(crm, module, ...f)),
          });
        },
      },
    },
  ];
}

/**
 * crm-oas v8.0 fields.json `#/components/schemas/InvalidParamError` (one of the operation's 400
 * answers, `#/components/responses/RRootResponse`): INVALID_MODULE whose `details` name the
 * parameter at fault (InvalidParamDetails, `api_name`), not the path segment of record calls.
 */
const unknownModule = () =>
  new ZohoFailure(400, 'INVALID_MODULE', 'the module name given seems to be invalid', { api_name: 'module' });

const labelOf = (apiName: string) => apiName.replace(/__c$/, '').replace(/_/g, ' ');
const fieldId = (module: ModuleSpec, apiName: string) =>
  `${module.id}${Object.keys(module.fields).indexOf(apiName)}`;

function moduleView(module: ModuleSpec, sequence: number): Record<string, unknown> {
  const label = labelOf(module.apiName);
  return {
    ...MODULE_DEFAULTS,
    id: module.id,
    api_name: module.apiName,
    module_name: module.apiName,
    singular_label: label,
    plural_label: label,
    sequence_number: sequence,
    generated_type: CUSTOM_MODULE.test(module.apiName) ? 'custom' : 'default',
    api_supported: true,
    creatable: true,
    editable: true,
    deletable: true,
    viewable: true,
    visible: true,
    visibility: 1,
    convertable: false,
    show_as_tab: true,
    modified_time: zohoTime(SEED_TIME),
    modified_by: USER,
    custom_view: allRecordsView(module, label),
    ...MODULE_OVERRIDES[module.apiName],
  };
}

/**
 * The module's system view of all its records (crm-oas v8.0 custom_views.json
 * `#/components/schemas/custom_views`), sorted by its mandatory field. Its id is the module's id
 * and `00`, which no field id (the module's id and the field's index) takes.
 */
function allRecordsView(module: ModuleSpec, label: string): Record<string, unknown> {
  const sortField = module.mandatory[0] ?? Object.keys(module.fields)[0] ?? 'id';
  return {
    id: `${module.id}00`,
    name: `All ${label}`,
    display_value: `All ${label}`,
    system_name: 'ALLVIEWS',
    category: 'public_views',
    created_time: null,
    modified_time: null,
    last_accessed_time: null,
    created_by: USER,
    modified_by: USER,
    module: { name: module.apiName, id: module.id },
    criteria: {
      comparator: null,
      field: { api_name: null, id: null },
      value: null,
      group_operator: null,
      group: [],
    },
    default: true,
    system_defined: true,
    locked: false,
    favorite: null,
    offline: true,
    access_type: 'public',
    shared_to: [],
    fields: [],
    sort_by: { id: fieldId(module, sortField), api_name: sortField },
    sort_order: 'desc',
  };
}

function fieldView(crm: Crm, module: ModuleSpec, apiName: string, type: FieldType): Record<string, unknown> {
  const ownerLookup = apiName === 'Owner';
  const { data_type, json_type, length, ui_type } = ownerLookup ? OWNER : TYPES[type];
  const label = apiName.replace(/_/g, ' ');
  const target = apiName === 'Parent_Id' ? (module.subformOf ?? undefined) : LOOKUP_TARGETS[apiName];
  const targetModule = target ? crm.module(target) : undefined;
  const custom = type === 'fileupload' || CUSTOM_MODULE.test(module.apiName);
  const index = Object.keys(module.fields).indexOf(apiName);
  // A file-upload field is neither searched, filtered, sorted nor mass-updated.
  const plain = type !== 'fileupload';
  return {
    ...FIELD_DEFAULTS,
    id: fieldId(module, apiName),
    api_name: apiName,
    field_label: label,
    display_label: label,
    column_name: apiName.toUpperCase(),
    quick_sequence_number: String(index + 1),
    data_type,
    json_type,
    ui_type,
    length,
    decimal_place: type === 'number' ? 2 : null,
    system_mandatory: module.mandatory.includes(apiName),
    custom_field: custom,
    created_source: custom ? 'crm' : 'default',
    // Zoho dates a custom field by its creation; a standard field has no times.
    created_time: custom ? zohoTime(SEED_TIME) : null,
    modified_time: custom ? zohoTime(SEED_TIME) : null,
    read_only: false,
    field_read_only: false,
    visible: true,
    filterable: plain,
    sortable: plain,
    searchable: plain,
    mass_update: plain,
    operation_type: { web_create: true, web_update: true, api_create: true, api_update: true },
    view_type: { view: true, edit: true, create: true, quick_create: module.mandatory.includes(apiName) },
    unique: module.uniqueFields.includes(apiName) ? { casesensitive: 'false' } : null,
    lookup:
      type === 'lookup' && targetModule && !ownerLookup
        ? {
            display_label: label,
            api_name: apiName,
            module: { api_name: targetModule.apiName, id: targetModule.id },
          }
        : null,
    // fields.json `file_upolad_optionlist`: where a file for the field may come from.
    file_upolad_optionlist:
      type === 'fileupload' ? [{ actual_value: 'desktop', display_value: 'Desktop' }] : [],
  };
}
