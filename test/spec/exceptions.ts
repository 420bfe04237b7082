/**
 * Where the sandbox knowingly departs from crm-oas v8.0: the one table of spec errors, each with
 * the Zoho source (docs in ../shared/seeds, ../shared/zoho-api.md, the official TypeScript SDK
 * 8.0, github.com/zoho/zohocrm-typescript-sdk-8.0) that contradicts the spec. A row either
 * corrects the spec before any schema is compiled (`correct`), or excuses the violations that
 * match it (`operation`, `where`, `message`). Nothing else is excused.
 */

export interface SpecViolation {
  /** `bulk_write.json POST /crm/bulk/v8/write` */
  operation: string;
  /** `request`, or `response <status> [<code>]` */
  where: string;
  message: string;
}

export interface SpecException {
  /** What the spec says that Zoho's own sources contradict, and those sources. */
  evidence: string;
  /** The operation's name as crm-oas.ts gives it, or `*`; with `where` and `message`, what is excused. */
  operation?: string;
  where?: RegExp;
  message?: RegExp;
  /** A change made to each spec document once loaded, in place of an excuse. */
  correct?: (document: Record<string, unknown>, file: string) => void;
}

const SEARCH = 'module_search.json GET /crm/v8/{module}/search';
const LIST_ATTACHMENTS = 'attachments.json GET /crm/v8/{module}/{record_id}/Attachments';
const ADD_ATTACHMENT = 'attachments.json POST /crm/v8/{module}/{record_id}/Attachments';
const GET_ATTACHMENT = 'attachments.json GET /crm/v8/{module}/{record_id}/Attachments/{id}';
const BULK_UPLOAD = 'bulk_write.json POST /crm/v8/upload';
const BULK_CREATE = 'bulk_write.json POST /crm/bulk/v8/write';
const PHOTO_UPLOAD = 'record_photo.json POST /crm/v8/{module}/{record}/photo';
const PHOTO_GET = 'record_photo.json GET /crm/v8/{module}/{record}/photo';

export const SPEC_EXCEPTIONS: SpecException[] = [
  // --- Corrections of one schema ---
  {
    evidence:
      'crm-oas v8.0 bulk_write.json answers Upload File with Success_Response, whose details require id and ' +
      'created_by and type file_id as an integer; seed 003 (lines 673-678) and zoho-api.md line 79 answer ' +
      "details {file_id as a string, created_time}. The upload's 200 is checked against that.",
    correct: (document, file) => {
      if (file !== 'bulk_write.json') return;
      const schemas = (document.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
      const upload = structuredClone(schemas.Success_Response) as { properties: Record<string, unknown> };
      upload.properties.details = {
        type: 'object',
        properties: { file_id: { type: 'string' }, created_time: { type: 'string', format: 'date-time' } },
        required: ['file_id', 'created_time'],
      };
      schemas.Upload_Success = upload;
      const paths = document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
      const answer = paths['/crm/v8/upload']?.post?.responses['200'] as {
        content: { 'application/json': { schema: { oneOf: Array<{ $ref: string }> } } };
      };
      const branches = answer.content['application/json'].schema.oneOf;
      for (const branch of branches) {
        if (branch.$ref === '#/components/schemas/Success_Response')
          branch.$ref = '#/components/schemas/Upload_Success';
      }
    },
  },
  {
    evidence:
      'crm-oas v8.0 attachments.json makes `fields` mandatory on Get Attachments, and its Attachment schema ' +
      'requires every field at once: an answer holds the fields asked for (zoho-api.md lines 58-59, ' +
      '`fields=id,File_Name,Size,Created_Time`), so the list of required fields is dropped.',
    correct: (document, file) => {
      if (file !== 'attachments.json') return;
      const schemas = (document.components as { schemas: Record<string, Record<string, unknown>> }).schemas;
      delete schemas.Attachment?.required;
    },
  },
  {
    evidence:
      'crm-oas v8.0 bulk_write.json components.schemas.default_value types `value` as an object; the official ' +
      'TypeScript SDK 8.0 dist/core/com/zoho/crm/api/bulk_write/default_value.d.ts takes any value ' +
      '(`setValue(value: any)`, "An Object representing the value"), and a default for a text or picklist ' +
      "field is the field's own value. The type is dropped, the property kept.",
    correct: (document, file) => {
      if (file !== 'bulk_write.json') return;
      const schemas = (
        document.components as { schemas: Record<string, { properties?: Record<string, object> }> }
      ).schemas;
      const properties = schemas.default_value?.properties;
      if (properties) properties.value = {};
    },
  },
  // --- Read as the spec's authors meant it ---
  {
    evidence:
      "The spec's error schemas list `message` values as an enum of examples: crm-oas v8.0 bulk_write.json " +
      'API_Exception.message holds "Requested module \'asdf\' is not available." and "invalid mapping. invalid ' +
      'api_name ast_Name." (a user\'s typos), and seed 003 shows messages naming the field at fault. A message is ' +
      'text for people, not a closed set: the enums on message, ERROR_MESSAGE, x-error, x-info and info are dropped.',
    correct: (document) =>
      walk(document, (node) => {
        const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
        for (const name of ['message', 'ERROR_MESSAGE', 'x-error', 'x-info', 'info']) {
          if (properties?.[name] && typeof properties[name] === 'object') delete properties[name].enum;
        }
      }),
  },
  {
    evidence:
      'The spec writes unions of overlapping schemas as oneOf (crm-oas v8.0 bulk_write.json, 400 of Create Bulk ' +
      "Write Job: API_Exception's code enum holds MANDATORY_NOT_FOUND and its details are any object, which " +
      "common.json MandatoryError also takes), so Zoho's own answer would match two branches and fail oneOf. " +
      'Every oneOf is read as anyOf.',
    correct: (document) =>
      walk(document, (node) => {
        if (Array.isArray(node.oneOf)) {
          node.anyOf = node.oneOf;
          delete node.oneOf;
        }
      }),
  },
  // --- Statuses every operation has, documented once for all of them ---
  {
    operation: '*',
    where: /^response 401 (INVALID_TOKEN|AUTHENTICATION_FAILURE|OAUTH_SCOPE_MISMATCH|401)$/,
    message: /is not documented/,
    evidence:
      'zoho-api.md, OAuth (lines 41-43): any call with an expired, revoked or under-scoped token answers 401 ' +
      'INVALID_TOKEN, AUTHENTICATION_FAILURE or OAUTH_SCOPE_MISMATCH; crm-oas documents 401 on no operation.',
  },
  {
    operation: '*',
    where: /^response 429 TOO_MANY_REQUESTS$/,
    message: /is not documented/,
    evidence:
      'zoho-api.md, Limits (lines 125-127): over the concurrency limit any call answers 429 TOO_MANY_REQUESTS.',
  },
  {
    operation: '*',
    where: /^response 5\d\d /,
    message: /is not documented/,
    evidence:
      'seed 001 (line 343) and zoho-api.md line 57: INTERNAL_ERROR, HTTP 500; a 5xx can come from any call.',
  },
  // --- Attachments ---
  {
    operation: LIST_ATTACHMENTS,
    where: /^request$/,
    message: /^accepted, yet the required query parameter ids is missing$/,
    evidence:
      'crm-oas v8.0 attachments.json marks `ids` required on Get Attachments; the official SDK 8.0 sample ' +
      "samples/attachments/get_attachments.ts lists a record's attachments with fields, page and per_page only " +
      '(its IDS line commented out), and zoho-api.md lines 58-60 list with `fields` alone.',
  },
  {
    operation: ADD_ATTACHMENT,
    where: /^request$/,
    message:
      /^accepted, yet (the required query parameter attachmentUrl is missing|a multipart\/form-data body, which the operation does not take)$/,
    evidence:
      'crm-oas v8.0 attachments.json documents only the link form of Upload Attachment (attachmentUrl required) ' +
      'and leaves its own multipart requestBodies.body (File_Body_Wrapper, `file`) unused; seed 001 (Upload an ' +
      'Attachment: multipart/form-data, `file`) and zoho-api.md line 47 upload a file as a multipart `file`.',
  },
  {
    operation: ADD_ATTACHMENT,
    where: /^response 415 (FILE_SIZE_MORE_THAN_ALLOWED_SIZE|INVALID_DATA)$/,
    message: /is not documented/,
    evidence:
      'seed 001 (lines 351-353) and zoho-api.md lines 55-56: an .exe answers 415 INVALID_DATA, a file over ' +
      'the limit 415 FILE_SIZE_MORE_THAN_ALLOWED_SIZE; crm-oas documents only 200 and 400.',
  },
  {
    operation: GET_ATTACHMENT,
    where: /^response 200$/,
    message: /^bytes of type [\w.+-]+\/[\w.+-]+, where the spec documents image\/png$/,
    evidence:
      'crm-oas v8.0 attachments.json types Get Attachment as image/png only; an attachment is any file ' +
      '(seed 001: every type but .exe) and comes back as it was uploaded (zoho-api.md line 60).',
  },
  // --- Photo ---
  {
    operation: PHOTO_UPLOAD,
    where: /^request$/,
    message: /^accepted, yet the query parameter restrict_triggers is not one of the operation's$/,
    evidence:
      'seed 004 (lines 22-23, 28): `restrict_triggers=workflow` is an optional query parameter of Upload Photo.',
  },
  {
    operation: PHOTO_UPLOAD,
    where: /^response 415 FILE_SIZE_MORE_THAN_ALLOWED_SIZE$/,
    message: /is not documented/,
    evidence: 'seed 004 (line 224) and zoho-api.md line 73: a photo over 10 MB or 10 megapixels answers 415.',
  },
  {
    operation: PHOTO_GET,
    where: /^response 200$/,
    message: /^bytes of type image\/(jpeg|gif|bmp), where the spec documents image\/png$/,
    evidence:
      'crm-oas v8.0 record_photo.json types Get Photo as image/png only; seed 004 (line 26) takes PNG, JPEG, GIF ' +
      'and BMP, and a photo comes back as it was uploaded (zoho-api.md lines 68-70).',
  },
  {
    operation: PHOTO_UPLOAD,
    where: /^response 400 RECORD_LOCKED$/,
    message: /code must be equal to one of the allowed values/,
    evidence:
      'crm-oas v8.0 record_photo.json lists INVALID_URL_PATTERN, INVALID_DATA and INVALID_MODULE for Upload ' +
      'Photo; seed 004 and zoho-api.md lines 68 and 72 refuse a photo for a locked record with 400 RECORD_LOCKED.',
  },
  {
    operation:
      'field_attachments.json GET /crm/v8/{module_api_name}/{record_id}/actions/download_fields_attachment',
    where: /^request$/,
    message:
      /^accepted, yet the sandbox asks for the scope ZohoCRM\.modules\.\w+\.READ, which the spec's \(ZohoCRM\.modules\.ALL\.READ\)/,
    evidence:
      'crm-oas v8.0 field_attachments.json names the scope ZohoCRM.modules.ALL.READ, which is no scope: the ' +
      "scopes common.json's iam-oauth2-schema lists hold ZohoCRM.modules.ALL and " +
      'ZohoCRM.modules.{module_API_name}.READ, the one the sandbox asks for (seed 001: modules.{module}.{operation}).',
  },
  // --- Records ---
  {
    operation: 'record.json PUT /crm/v8/{module_api_name}/{id}',
    where: /^response 400( INVALID_DATA| INVALID_MODULE)?$/,
    message: /is not documented/,
    evidence:
      'crm-oas v8.0 record.json documents only 200 for Update Record (its Clone Record documents 400); seed 001 ' +
      'and zoho-api.md lines 54-55 refuse a bad record id (INVALID_DATA) or module (INVALID_MODULE) with 400.',
  },
  {
    operation: 'record.json PUT /crm/v8/{module_api_name}/{id}',
    where: /^request$/,
    message: /^accepted, yet a {2}body, where the operation takes application\/json$/,
    evidence:
      'crm-oas v8.0 record.json Update Record takes application/json; the official TypeScript SDK 8.0 sends ' +
      'its record updates with no Content-Type at all: dist/routes/controllers/api_http_connector.js ' +
      'setContentTypeHeader sets one only for the paths in Constants.SET_TO_CONTENT_TYPE ' +
      '(dist/utils/util/constants.js: bulk read and write, audit log export, Zia enrichment).',
  },
  // --- Search ---
  {
    operation: SEARCH,
    where: /^request$/,
    message:
      /^accepted, yet (the required query parameter per_page is missing|the query parameter page is not one of the operation's)$/,
    evidence:
      "crm-oas v8.0 module_search.json requires per_page and has no page; the official SDKs' SearchRecordsParam " +
      '(TypeScript SDK 8.0 core/com/zoho/crm/api/record/record_operations.ts) has PAGE and PER_PAGE beside ' +
      'CRITERIA, EMAIL, PHONE and WORD, all optional, and zoho-api.md lines 116-117 search with one of those alone.',
  },
  {
    operation: SEARCH,
    where: /^request$/,
    message: /^accepted, yet the sandbox asks for the scope ZohoCRM\.modules\.\w+\.READ, which the spec's/,
    evidence:
      'crm-oas v8.0 module_search.json gives Search module the scopes ZohoCRM.users.all and ZohoCRM.users.read; ' +
      "Zoho's Search Records page (zoho.com/crm/developer/docs/api/v8/search-records.html) asks for " +
      'ZohoCRM.modules.{module_name}.{READ|ALL} and ZohoSearch.securesearch.READ, as the sandbox does.',
  },
  {
    operation: SEARCH,
    where: /^response 204$/,
    message: /is not documented/,
    evidence: 'zoho-api.md line 117: a search that matches nothing answers 204.',
  },
  // --- Bulk write ---
  {
    operation: BULK_UPLOAD,
    where: /^request$/,
    message: /^accepted, yet the sandbox asks for the scope ZohoFiles\.files\.CREATE, which the spec's/,
    evidence:
      'crm-oas v8.0 bulk_write.json gives all its operations ZohoCRM.bulk.ALL; the upload goes to the file ' +
      'host, which asks for ZohoFiles.files (zoho-api.md line 78: scope ZohoFiles.files.ALL).',
  },
  {
    operation: BULK_UPLOAD,
    where: /^response 400 (INVALID_FILE_FORMAT|FILE_TOO_LARGE)$/,
    message: /is not documented/,
    evidence:
      'crm-oas v8.0 bulk_write.json documents only 200 for Upload File; seed 003 (lines 651-653) documents ' +
      "INVALID_FILE_FORMAT and FILE_TOO_LARGE as HTTP 400 (the sandbox's uploadErrorStyle flat-400).",
  },
  {
    operation: BULK_CREATE,
    where: /^request$/,
    message: /^accepted, yet the body: (\/resource\/\d+\/module must have required property 'id'(; )?)+$/,
    evidence:
      'crm-oas v8.0 modules.json Minified_Module requires `id`; the official SDK 8.0 sample ' +
      'samples/bulkwrite/create_bulk_write_job.ts names the module by setAPIName alone, as zoho-api.md line 85 ' +
      '(`"module":{"api_name":"Leads"}`).',
  },
];

export function unexcused(found: SpecViolation[]): SpecViolation[] {
  const excuses = SPEC_EXCEPTIONS.filter((e) => e.operation);
  return found.filter(
    (violation) =>
      !excuses.some(
        (excuse) =>
          (excuse.operation === '*' || excuse.operation === violation.operation) &&
          excuse.where?.test(violation.where) &&
          excuse.message?.test(violation.message),
      ),
  );
}

/** Applies the table's corrections to a freshly loaded spec document. */
export function correctDocument(document: Record<string, unknown>, file: string): void {
  for (const exception of SPEC_EXCEPTIONS) exception.correct?.(document, file);
}

export function describeViolation(violation: SpecViolation): string {
  return `${violation.operation}, ${violation.where}: ${violation.message}`;
}

function walk(node: unknown, visit: (node: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item, visit);
  } else if (node && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    for (const value of Object.values(node)) walk(value, visit);
  }
}
