/**
 * Zoho's OpenAPI documents for CRM v8 (../shared/crm-oas/v8.0, see its README) as the judge of
 * the sandbox: `checkExchange` takes one request the sandbox answered and its answer, finds the
 * operation in the documents and lists what disagrees with it (required parameters, the request
 * body's schema or form fields, the answer's status, schema or content type). A request the spec
 * refuses must be refused (4xx); its refusal is checked like any answer. Each document is read
 * once and each schema compiled once per process, when first needed. The documents point at each
 * other by absolute URLs (`<base>/v8.0/<file>.json#…`, ../shared/crm-oas/README.md): the base is
 * read from those references, and each document is added to ajv under its own URL.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Exchange } from '#sandbox/exchange.ts';
import { missingScope } from '#sandbox/scopes.ts';
import { correctDocument, type SpecViolation, unexcused } from './exceptions.ts';

export const SPEC_DIR = fileURLToPath(new URL('../../../shared/crm-oas/v8.0/', import.meta.url));
export const SPEC_PRESENT = existsSync(SPEC_DIR);
/** A reference from one document to another: `"$ref": "<base>/v8.0/<file>.json#…"`. */
const CROSS_REF = /"\$ref"\s*:\s*"(https?:\/\/[^"#]*\/v8\.0\/)([a-z_]+\.json)/g;

/**
 * The documents this project's calls live in (../shared/crm-oas/README.md), plus the metadata the
 * official SDK reads; a path is matched in this order among paths as specific as each other.
 */
const DOCUMENTS = [
  'attachments.json',
  'record_photo.json',
  'files.json',
  'field_attachments.json',
  'module_search.json',
  'org.json',
  'bulk_write.json',
  'modules.json',
  'fields.json',
  'record.json',
];
/** The file host and the download host each serve one path of bulk_write.json. */
const HOST_PATHS: Record<string, string> = { upload: '/crm/v8/upload', download: '/{download_url}' };
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

type Json = Record<string, unknown>;

interface Located {
  file: string;
  pointer: string;
  node: Json;
}

export interface Operation {
  /** `bulk_write.json POST /crm/bulk/v8/write`: how violations and exceptions name it. */
  name: string;
  file: string;
  pointer: string;
  node: Json;
  /** The path item's parameters and the operation's own. */
  parameters: Located[];
  pattern: RegExp;
  literalSegments: number;
  host: string;
}

export interface Spec {
  /** The URL the documents name one another under, up to and with `v8.0/`. */
  base: string;
  documents: Map<string, Json>;
  /** The documents each one points at. */
  links: Map<string, string[]>;
  operations: Operation[];
  ajv: Ajv;
  /** The documents ajv has been given: only those a compiled schema reaches. */
  inAjv: Set<string>;
  compiled: Map<string, ValidateFunction>;
}

let loaded: Spec | undefined;

/** The documents, read and prepared once per process. */
export function loadSpec(): Spec {
  if (loaded) return loaded;
  const documents = new Map<string, Json>();
  const links = new Map<string, string[]>();
  const bases = new Set<string>();
  const pending = [...DOCUMENTS, 'common.json'];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (documents.has(file)) continue;
    const text = readFileSync(`${SPEC_DIR}${file}`, 'utf8');
    const document = JSON.parse(text) as Json;
    correctDocument(document, file);
    documents.set(file, document);
    const others = [...text.matchAll(CROSS_REF)];
    for (const match of others) bases.add(match[1] as string);
    links.set(file, [...new Set(others.map((m) => m[2] as string))]);
    pending.push(...(links.get(file) ?? []));
  }
  // The documents are OpenAPI 3.0, not JSON Schema: unknown keywords (example, xml) are ignored.
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats.default(ajv);
  ajv.addFormat('binary', true);
  if (bases.size !== 1)
    throw new Error(`The documents name one another under ${bases.size} bases: ${[...bases]}`);
  loaded = {
    base: [...bases][0] as string,
    documents,
    links,
    operations: operationsOf(documents),
    ajv,
    inAjv: new Set(),
    compiled: new Map(),
  };
  return loaded;
}

/** Gives ajv a document and every document it points at, once (adding all 17 costs more than reading them). */
function addToAjv(spec: Spec, file: string): void {
  if (spec.inAjv.has(file)) return;
  spec.inAjv.add(file);
  spec.ajv.addSchema(spec.documents.get(file) as Json, `${spec.base}${file}`);
  for (const other of spec.links.get(file) ?? []) addToAjv(spec, other);
}

function operationsOf(documents: Map<string, Json>): Operation[] {
  const operations: Operation[] = [];
  for (const file of DOCUMENTS) {
    const paths = (documents.get(file)?.paths ?? {}) as Record<string, Json>;
    for (const [path, item] of Object.entries(paths)) {
      const host = Object.entries(HOST_PATHS).find(([, hostPath]) => hostPath === path)?.[0] ?? 'api';
      const segments = path.split('/').filter(Boolean);
      const pattern = new RegExp(
        `^/${segments.map((s) => (/^\{.+\}$/.test(s) ? '([^/]+)' : escapeRegExp(s))).join('/')}$`,
      );
      for (const method of METHODS) {
        const node = item[method] as Json | undefined;
        if (!node) continue;
        const at = `/paths/${escapePointer(path)}`;
        const located = (list: unknown, pointer: string) =>
          asArray(list).map((p, i) => ({ file, pointer: `${pointer}/parameters/${i}`, node: p as Json }));
        operations.push({
          name: `${file} ${method.toUpperCase()} ${path}`,
          file,
          pointer: `${at}/${method}`,
          node,
          parameters: [...located(item.parameters, at), ...located(node.parameters, `${at}/${method}`)],
          pattern,
          literalSegments: segments.filter((s) => !s.startsWith('{')).length,
          host,
        });
      }
    }
  }
  // The most literal path wins (`/crm/v8/files` before `/crm/v8/{module_api_name}`); the sort is stable.
  return operations.sort((a, b) => b.literalSegments - a.literalSegments);
}

/** The operation an exchange is an instance of; undefined for a path the documents do not have. */
export function findOperation(exchange: Pick<Exchange, 'host' | 'method' | 'path'>): Operation | undefined {
  const { operations } = loadSpec();
  const method = exchange.method.toUpperCase();
  return operations.find(
    (op) => op.host === exchange.host && op.name.split(' ')[1] === method && op.pattern.test(exchange.path),
  );
}

/** What in this exchange disagrees with Zoho's spec and is not excused (exceptions.ts). */
export function checkExchange(exchange: Exchange): SpecViolation[] {
  if (exchange.host !== 'api' && exchange.host !== 'upload' && exchange.host !== 'download') return [];
  const operation = findOperation(exchange);
  if (!operation) return [];
  const answer = exchange.responseJson as
    | { code?: unknown; ERROR_CODE?: unknown; status?: unknown }
    | undefined;
  // The sandbox has no route for it: an operation of the document it does not implement.
  if (answer?.code === 'INVALID_URL_PATTERN' || answer?.code === 'INVALID_REQUEST_METHOD') return [];
  const refused = requestViolations(operation, exchange);
  // The file host answers its refusals with HTTP 200 too (zoho-api.md, Bulk write): judged by the body.
  const answered =
    exchange.status >= 200 &&
    exchange.status < 300 &&
    answer?.status !== 'error' &&
    answer?.ERROR_CODE === undefined;
  const found: SpecViolation[] = [];
  if (answered) {
    for (const message of [...refused, ...scopeViolations(operation, exchange)]) {
      found.push({ operation: operation.name, where: 'request', message: `accepted, yet ${message}` });
    }
  }
  const code = answer?.code ?? answer?.ERROR_CODE;
  const where = `response ${exchange.status}${code === undefined ? '' : ` ${String(code)}`}`;
  for (const message of responseViolations(operation, exchange)) {
    found.push({ operation: operation.name, where, message });
  }
  return unexcused(found);
}

/** What the spec refuses in the request: missing or ill-typed parameters, a body it does not take. */
export function requestViolations(operation: Operation, exchange: Exchange): string[] {
  const found: string[] = [];
  const known = new Set<string>();
  for (const declared of operation.parameters) {
    const parameter = resolve(declared);
    const { name, in: place, required } = parameter.node as { name: string; in: string; required?: boolean };
    if (place === 'query') known.add(name);
    const value =
      place === 'query'
        ? (exchange.query.get(name) ?? undefined)
        : place === 'header'
          ? headerOf(exchange, name)
          : place === 'path'
            ? pathValue(operation, exchange, name)
            : undefined;
    if (value === undefined) {
      if (required) found.push(`the required ${place} parameter ${name} is missing`);
      continue;
    }
    const validate = compiled(parameter, '/schema');
    const typed = fromText(value, (parameter.node.schema as Json | undefined)?.type);
    if (validate && !validate(typed)) found.push(`${place} parameter ${name}: ${errorText(validate.errors)}`);
  }
  for (const name of new Set(exchange.query.keys())) {
    if (!known.has(name)) found.push(`the query parameter ${name} is not one of the operation's`);
  }
  found.push(...bodyViolations(operation, exchange));
  return found;
}

function bodyViolations(operation: Operation, exchange: Exchange): string[] {
  const mediaType = (headerOf(exchange, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const sent = exchange.body !== undefined || exchange.formFields.length > 0;
  const declared = operation.node.requestBody as Json | undefined;
  if (!declared) {
    return sent ? [`a ${mediaType || 'request'} body, which the operation does not take`] : [];
  }
  const body = resolve({ file: operation.file, pointer: `${operation.pointer}/requestBody`, node: declared });
  const content = (body.node.content ?? {}) as Record<string, unknown>;
  if (!sent) return body.node.required ? ['the required request body is missing'] : [];
  if (!(mediaType in content)) {
    return [`a ${mediaType} body, where the operation takes ${Object.keys(content).join(', ')}`];
  }
  const schemaAt = `/content/${escapePointer(mediaType)}/schema`;
  if (mediaType === 'multipart/form-data') {
    const { properties, required } = shapeOf(body, schemaAt);
    return [
      ...exchange.formFields
        .filter((field) => !properties.has(field))
        .map((field) => `the form field ${field} is not one of ${[...properties].join(', ') || 'none'}`),
      ...required
        .filter((field) => !exchange.formFields.includes(field))
        .map((field) => `the required form field ${field} is missing`),
    ];
  }
  if (!mediaType.includes('json') || !exchange.body) return [];
  let json: unknown;
  try {
    json = JSON.parse(exchange.body.toString('utf8'));
  } catch {
    return ['the JSON body does not parse'];
  }
  const validate = compiled(body, schemaAt);
  return validate && !validate(json) ? [`the body: ${errorText(validate.errors)}`] : [];
}

/**
 * A token holding the scopes the spec's `security` names (the operation's, else its document's)
 * must be enough for the sandbox: what the sandbox asked for beyond them.
 */
export function scopeViolations(operation: Operation, exchange: Exchange): string[] {
  const document = loadSpec().documents.get(operation.file);
  const security = (operation.node.security ?? document?.security) as
    | Array<Record<string, string[]>>
    | undefined;
  if (!security || security.length === 0 || exchange.scopes.length === 0) return [];
  const module = (
    pathValue(operation, exchange, 'module') ??
    pathValue(operation, exchange, 'module_api_name') ??
    ''
  ).toLowerCase();
  const alternatives = security.map((requirement) =>
    Object.values(requirement)
      .flat()
      .map((scope) => scope.replace('{module_API_name}', module)),
  );
  if (alternatives.some((granted) => missingScope(exchange.scopes, granted) === undefined)) return [];
  const missing = missingScope(exchange.scopes, alternatives[0] ?? []);
  return [
    `the sandbox asks for the scope ${missing}, which the spec's (${alternatives.map((a) => a.join(' + ')).join(' or ')}) do not grant`,
  ];
}

/** What disagrees in the answer: a status the operation does not document, a body not of its schema. */
export function responseViolations(operation: Operation, exchange: Exchange): string[] {
  const responses = (operation.node.responses ?? {}) as Record<string, Json>;
  const key = [String(exchange.status), `${String(exchange.status)[0]}XX`, 'default'].find(
    (k) => responses[k] !== undefined,
  );
  if (!key) return [`status ${exchange.status} is not documented (${Object.keys(responses).join(', ')})`];
  const response = resolve({
    file: operation.file,
    pointer: `${operation.pointer}/responses/${key}`,
    node: responses[key] as Json,
  });
  const content = Object.keys((response.node.content ?? {}) as Json);
  if (content.length === 0) return [];
  const jsonType = content.find((type) => type.includes('json'));
  if (exchange.binary) {
    const answered = String(exchange.responseHeaders['Content-Type'] ?? '').split(';')[0] ?? '';
    return content.some((type) => !type.includes('json') && sameKind(type, answered))
      ? []
      : [`bytes of type ${answered || 'unknown'}, where the spec documents ${content.join(', ')}`];
  }
  if (exchange.responseJson === undefined) return [`no body, where the spec documents ${content.join(', ')}`];
  if (!jsonType) return [`JSON, where the spec documents ${content.join(', ')}`];
  const validate = compiled(response, `/content/${escapePointer(jsonType)}/schema`);
  return validate && !validate(exchange.responseJson) ? [errorText(validate.errors)] : [];
}

/** A download's type against the spec's: the same, or any bytes where the spec says a download. */
function sameKind(documented: string, answered: string): boolean {
  if (documented === answered) return true;
  return ['application/octet-stream', 'application/x-download'].includes(documented) && answered !== '';
}

/** Follows `$ref`s (within a document or to another by its URL) to the object they name. */
function resolve(located: Located): Located {
  let current = located;
  for (let hops = 0; typeof current.node.$ref === 'string'; hops += 1) {
    if (hops > 20) throw new Error(`A $ref cycle at ${current.file}#${current.pointer}`);
    const ref = current.node.$ref as string;
    const [target, pointer = ''] = ref.split('#');
    const file = target ? target.slice(target.lastIndexOf('/') + 1) : current.file;
    current = { file, pointer, node: atPointer(loadSpec().documents.get(file), pointer) };
  }
  return current;
}

function atPointer(document: Json | undefined, pointer: string): Json {
  let node: unknown = document;
  for (const part of pointer.split('/').slice(1)) {
    node = (node as Json | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  if (!node || typeof node !== 'object') throw new Error(`Nothing at ${pointer} in the spec`);
  return node as Json;
}

/** The schema at `located` + `path`, compiled once; undefined when there is none. */
function compiled(located: Located, path: string): ValidateFunction | undefined {
  const pointer = `${located.pointer}${path}`;
  const key = `${located.file}#${pointer}`;
  const spec = loadSpec();
  const cached = spec.compiled.get(key);
  if (cached) return cached;
  try {
    atPointer(spec.documents.get(located.file), pointer);
  } catch {
    return undefined;
  }
  addToAjv(spec, located.file);
  const validate = spec.ajv.compile({ $ref: `${spec.base}${located.file}#${pointer}` });
  spec.compiled.set(key, validate);
  return validate;
}

/** A form schema's field names and its required ones ($ref, allOf, oneOf and anyOf followed). */
function shapeOf(located: Located, path: string): { properties: Set<string>; required: string[] } {
  const properties = new Set<string>();
  const required: string[] = [];
  const visit = (at: Located, top: boolean) => {
    const schema = resolve(at);
    for (const name of Object.keys((schema.node.properties ?? {}) as Json)) properties.add(name);
    if (top) required.push(...asArray(schema.node.required).map(String));
    for (const keyword of ['allOf', 'oneOf', 'anyOf']) {
      asArray(schema.node[keyword]).forEach((branch, index) => {
        visit(
          { file: schema.file, pointer: `${schema.pointer}/${keyword}/${index}`, node: branch as Json },
          top && keyword === 'allOf',
        );
      });
    }
  };
  visit(
    {
      ...located,
      pointer: `${located.pointer}${path}`,
      node: atPointer(loadSpec().documents.get(located.file), `${located.pointer}${path}`),
    },
    true,
  );
  return { properties, required };
}

function pathValue(operation: Operation, exchange: Exchange, name: string): string | undefined {
  const path = operation.name.split(' ')[2] ?? '';
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
  const match = operation.pattern.exec(exchange.path);
  const raw = match?.[names.indexOf(name) + 1];
  return raw === undefined ? undefined : decodeURIComponent(raw);
}

/** A query or header parameter's text as the type its schema names (a number stays text when it is none). */
function fromText(value: string, type: unknown): unknown {
  if ((type === 'integer' || type === 'number') && value.trim() !== '' && Number.isFinite(Number(value))) {
    return Number(value);
  }
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function headerOf(exchange: Exchange, name: string): string | undefined {
  const value = exchange.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

function errorText(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .slice(0, process.env.SPEC_DEBUG ? 50 : 6)
    .map(
      (e) =>
        `${e.instancePath || '/'} ${e.message ?? ''}${e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`,
    )
    .join('; ');
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
