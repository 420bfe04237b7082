/**
 * The sandbox org's modules as data: fields (API names and types), what a new record must have,
 * which fields identify a record for bulk update/upsert, and which modules take photos or bulk
 * writes. Plus the seeded records, with fixed ids so a demo can name them.
 */

export type FieldType =
  | 'text'
  | 'email'
  | 'phone'
  | 'number'
  | 'date'
  | 'boolean'
  | 'lookup'
  /** A file-upload field: a list of files put there through ZFS (field-files.ts). */
  | 'fileupload';

export interface ModuleSpec {
  apiName: string;
  /** The module's own id (Zoho sends it as `module.id` in bulk job details). */
  id: string;
  fields: Record<string, FieldType>;
  /** Fields a new record needs (bulk insert/upsert: MANDATORY_NOT_FOUND when empty). */
  mandatory: string[];
  /** Fields a bulk `find_by` may name besides `id` (the org's unique / duplicate-check fields). */
  uniqueFields: string[];
  /** Photo API: Leads, Contacts, Accounts, Products, Deals, Vendors and custom modules (zoho-api.md, Photo). */
  photo: boolean;
  /** Bulk write: not Notes (Create Bulk Write Job, "Possible module names"). */
  bulk: boolean;
  /**
   * A subform, with its parent module. Bulk write treats it as a child module (seed 003): its CSV
   * rides in the parent's ZIP, in the same job; the record APIs do not take it as a module.
   */
  subformOf?: string;
}

const person: Record<string, FieldType> = {
  Salutation: 'text',
  First_Name: 'text',
  Last_Name: 'text',
  Email: 'email',
  Secondary_Email: 'email',
  Phone: 'phone',
  Mobile: 'phone',
  Fax: 'phone',
  Title: 'text',
  Description: 'text',
  Lead_Source: 'text',
  Email_Opt_Out: 'boolean',
  Twitter: 'text',
};

const address = (prefix: string): Record<string, FieldType> => ({
  [`${prefix}Street`]: 'text',
  [`${prefix}City`]: 'text',
  [`${prefix}State`]: 'text',
  [`${prefix}Zip_Code`]: 'text',
  [`${prefix}Country`]: 'text',
});

const module = (spec: Omit<ModuleSpec, 'fields'> & { fields: Record<string, FieldType> }): ModuleSpec => ({
  ...spec,
  // Every module has these (Owner is a user lookup).
  fields: { Owner: 'lookup', Tag: 'text', ...spec.fields },
});

export const MODULES: ModuleSpec[] = [
  module({
    apiName: 'Leads',
    id: '5725767000000002175',
    fields: {
      ...person,
      ...address(''),
      Company: 'text',
      Designation: 'text',
      Website: 'text',
      Industry: 'text',
      Lead_Status: 'text',
      Rating: 'text',
      Annual_Revenue: 'number',
      No_of_Employees: 'number',
      Skype_ID: 'text',
      // A custom file-upload field, as an org adds one (a layout's "File Upload" field).
      Documents: 'fileupload',
    },
    mandatory: ['Last_Name'],
    uniqueFields: ['Email'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Contacts',
    id: '5725767000000002179',
    fields: {
      ...person,
      ...address('Mailing_'),
      Account_Name: 'lookup',
      Department: 'text',
      Date_of_Birth: 'date',
      Assistant: 'text',
    },
    mandatory: ['Last_Name'],
    uniqueFields: ['Email'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Accounts',
    id: '5725767000000002177',
    fields: {
      ...address('Billing_'),
      Account_Name: 'text',
      Account_Number: 'text',
      Account_Type: 'text',
      Phone: 'phone',
      Fax: 'phone',
      Website: 'text',
      Industry: 'text',
      Annual_Revenue: 'number',
      Employees: 'number',
      Rating: 'text',
      Description: 'text',
    },
    mandatory: ['Account_Name'],
    uniqueFields: ['Account_Name'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Deals',
    id: '5725767000000002181',
    fields: {
      Deal_Name: 'text',
      Amount: 'number',
      Stage: 'text',
      Closing_Date: 'date',
      Account_Name: 'lookup',
      Contact_Name: 'lookup',
      Probability: 'number',
      Type: 'text',
      Lead_Source: 'text',
      Next_Step: 'text',
      Description: 'text',
    },
    mandatory: ['Deal_Name'],
    uniqueFields: ['Deal_Name'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Products',
    id: '5725767000000002185',
    fields: {
      Product_Name: 'text',
      Product_Code: 'text',
      Product_Category: 'text',
      Product_Active: 'boolean',
      Unit_Price: 'number',
      Qty_in_Stock: 'number',
      Vendor_Name: 'lookup',
      Manufacturer: 'text',
      Description: 'text',
    },
    mandatory: ['Product_Name'],
    uniqueFields: ['Product_Name', 'Product_Code'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Vendors',
    id: '5725767000000002187',
    fields: {
      ...address(''),
      Vendor_Name: 'text',
      Email: 'email',
      Phone: 'phone',
      Website: 'text',
      GL_Account: 'text',
      Category: 'text',
      Description: 'text',
    },
    mandatory: ['Vendor_Name'],
    uniqueFields: ['Vendor_Name', 'Email'],
    photo: true,
    bulk: true,
  }),
  module({
    apiName: 'Notes',
    id: '5725767000000002191',
    fields: { Note_Title: 'text', Note_Content: 'text', Parent_Id: 'lookup', $se_module: 'text' },
    mandatory: ['Note_Content'],
    uniqueFields: [],
    photo: false,
    bulk: false,
  }),
  module({
    apiName: 'Tasks',
    id: '5725767000000002193',
    fields: {
      Subject: 'text',
      Due_Date: 'date',
      Status: 'text',
      Priority: 'text',
      What_Id: 'lookup',
      Who_Id: 'lookup',
      Description: 'text',
    },
    mandatory: ['Subject'],
    uniqueFields: [],
    photo: false,
    bulk: true,
  }),
  module({
    apiName: 'Projects__c',
    id: '5725767000000002195',
    fields: {
      Name: 'text',
      Email: 'email',
      Secondary_Email: 'email',
      Status__c: 'text',
      Budget__c: 'number',
      Start_Date__c: 'date',
      Description: 'text',
    },
    mandatory: ['Name'],
    uniqueFields: ['Name'],
    photo: true,
    bulk: true,
  }),
  module({
    // A subform of Contacts (the languages a contact speaks); Parent_Id is the contact.
    apiName: 'Languages',
    id: '5725767000000002197',
    fields: { Parent_Id: 'lookup', Language: 'text', Proficiency: 'text' },
    mandatory: ['Language'],
    uniqueFields: [],
    photo: false,
    bulk: true,
    subformOf: 'Contacts',
  }),
];

export interface SeedRecord {
  module: string;
  id: string;
  fields: Record<string, unknown>;
  locked?: boolean;
}

/** Fixed ids: `5725767` (the org) + 6 zeros + a 3-digit module block + a 3-digit serial = 19 digits. */
const seedId = (block: number, serial: number) => `5725767000000${block}${String(serial).padStart(3, '0')}`;

/** Seeded people of a module: e-mail and phone made from the name and the row's place, then `more` fields. */
function seedPeople(
  of: { module: string; block: number; domain: string; phone: string },
  people: Array<[first: string, last: string, more: Record<string, unknown>]>,
): SeedRecord[] {
  return people.map(([first, last, more], i) => ({
    module: of.module,
    id: seedId(of.block, i + 1),
    fields: {
      First_Name: first,
      Last_Name: last,
      Email: `${first.toLowerCase()}.${last.toLowerCase()}@${of.domain}`,
      Phone: `${of.phone}${i}`,
      ...more,
    },
  }));
}

const LEADS = seedId(412, 1);
const CONTACTS = seedId(413, 1);

export const SEED_RECORDS: SeedRecord[] = [
  ...seedPeople({ module: 'Leads', block: 412, domain: 'example.com', phone: '+1 555 010' }, [
    ['Ada', 'Lovelace', { Company: 'Analytical Engines Ltd', Lead_Status: 'Not Contacted' }],
    ['Grace', 'Hopper', { Company: 'Compiler Works', Lead_Status: 'Not Contacted' }],
    ['Alan', 'Turing', { Company: 'Bletchley Systems', Lead_Status: 'Not Contacted' }],
  ]),
  {
    // Under an approval process: Zoho refuses to change its photo (RECORD_LOCKED).
    module: 'Leads',
    id: seedId(412, 4),
    fields: {
      First_Name: 'Edsger',
      Last_Name: 'Dijkstra',
      Email: 'edsger.dijkstra@example.com',
      Phone: '+1 555 0103',
      Company: 'Shortest Path BV',
      Lead_Status: 'Pending Approval',
    },
    locked: true,
  },
  ...seedPeople({ module: 'Contacts', block: 413, domain: 'example.org', phone: '+1 555 020' }, [
    ['Katherine', 'Johnson', { Account_Name: 'Zylker Corp' }],
    ['Margaret', 'Hamilton', { Account_Name: 'Acme Widgets' }],
    ['Dennis', 'Ritchie', { Account_Name: 'Globex Industries' }],
  ]),
  ...['Zylker Corp', 'Acme Widgets', 'Globex Industries'].map((name, i) => ({
    module: 'Accounts',
    id: seedId(414, i + 1),
    fields: {
      Account_Name: name,
      Phone: `+1 555 030${i}`,
      Website: `https://www.${name.split(' ')[0]?.toLowerCase()}.example`,
    },
  })),
  ...['Zylker renewal 2026', 'Acme pilot', 'Globex expansion'].map((name, i) => ({
    module: 'Deals',
    id: seedId(415, i + 1),
    fields: { Deal_Name: name, Amount: 12000 * (i + 1), Stage: 'Qualification', Closing_Date: '2026-12-31' },
  })),
  ...['Sandbox Widget', 'Sandbox Gadget', 'Sandbox Gizmo'].map((name, i) => ({
    module: 'Products',
    id: seedId(416, i + 1),
    fields: {
      Product_Name: name,
      Product_Code: `SBX-00${i + 1}`,
      Unit_Price: 10 * (i + 1),
      Product_Active: true,
    },
  })),
  ...['Northwind Supplies', 'Contoso Parts', 'Fabrikam Components'].map((name, i) => ({
    module: 'Vendors',
    id: seedId(417, i + 1),
    fields: {
      Vendor_Name: name,
      Email: `orders@${name.split(' ')[0]?.toLowerCase()}.example`,
      Phone: `+1 555 040${i}`,
    },
  })),
  ...['Kick-off call', 'Pricing questions', 'Contract sent'].map((title, i) => ({
    module: 'Notes',
    id: seedId(418, i + 1),
    fields: {
      Note_Title: title,
      Note_Content: `${title}: notes taken in the sandbox.`,
      Parent_Id: i < 2 ? LEADS : CONTACTS,
      $se_module: i < 2 ? 'Leads' : 'Contacts',
    },
  })),
  ...['Call back', 'Send proposal', 'Follow up'].map((subject, i) => ({
    module: 'Tasks',
    id: seedId(419, i + 1),
    fields: { Subject: subject, Status: 'Not Started', Priority: 'Normal', Due_Date: `2026-12-0${i + 1}` },
  })),
  ...['Apollo', 'Gemini', 'Mercury'].map((name, i) => ({
    module: 'Projects__c',
    id: seedId(420, i + 1),
    fields: { Name: name, Status__c: 'Active', Budget__c: 50000 * (i + 1) },
  })),
];

/** When the seeded records were "created": fixed, so a snapshot is stable across runs. */
export const SEED_TIME = Date.parse('2026-01-05T09:00:00Z');
