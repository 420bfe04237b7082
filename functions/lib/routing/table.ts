/**
 * The route table: data, not code. Each route is a key pattern made of literal text and
 * placeholders, each placeholder matching part of one key segment:
 *
 *   { "name": "attachment", "kind": "attachment", "pattern": "attachments/{module}/{recordId}/{fileName}" }
 *
 * Placeholders: {module}, {recordId}, {field}, {value}, {operation}, {fileName}, {ext}, and
 * {fieldApiName} (an attachment route whose file goes into a record's file-upload field). A route
 * may instead fix `module`, `field` or `operation` (e.g. `"module": "Deals"`). The file name Zoho
 * records is always the key's last segment ({fileName} and {ext} only constrain where it sits).
 * Routes are tried in order and the first whose pattern fits the key decides. A deployment
 * replaces the whole table (ROUTES); it is checked here, once, at start.
 */
import { DEFAULT_PREFIXES, EXTRA_PREFIXES, isKind, KINDS, type Kind, watchedPrefixes } from '#lib/kinds.ts';
import { BULK_OPERATIONS, type BulkOperation } from '#zoho/types.ts';
import { RouteTableError } from './errors.ts';
import { checkApiName, checkOperation } from './validate.ts';

export { DEFAULT_PREFIXES, EXTRA_PREFIXES, KINDS, type Kind, watchedPrefixes };

export interface RouteDefinition {
  /** Names the route in logs, tags and errors. */
  name: string;
  kind: Kind;
  /** e.g. `attachments/{module}/{recordId}/{fileName}`. Starts with a literal segment. */
  pattern: string;
  /** A fixed module, for a pattern without {module}. */
  module?: string;
  /** A fixed lookup field, for a pattern with {value} but without {field}. */
  field?: string;
  /** A fixed bulk operation, for a bulk-write pattern without {operation}. */
  operation?: BulkOperation;
}

const PLACEHOLDERS = [
  'module',
  'recordId',
  'field',
  'value',
  'operation',
  'fileName',
  'ext',
  'fieldApiName',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** The default routes (DESIGN.md): specific before generic. */
export const DEFAULT_ROUTES: readonly RouteDefinition[] = [
  {
    name: 'attachment-lookup',
    kind: 'attachment',
    pattern: `${DEFAULT_PREFIXES.attachment}{module}/by/{field}/{value}/{fileName}`,
  },
  {
    name: 'attachment',
    kind: 'attachment',
    pattern: `${DEFAULT_PREFIXES.attachment}{module}/{recordId}/{fileName}`,
  },
  {
    name: 'field-file-lookup',
    kind: 'attachment',
    pattern: `${EXTRA_PREFIXES.attachment[0]}{module}/by/{field}/{value}/{fieldApiName}/{fileName}`,
  },
  {
    name: 'field-file',
    kind: 'attachment',
    pattern: `${EXTRA_PREFIXES.attachment[0]}{module}/{recordId}/{fieldApiName}/{fileName}`,
  },
  {
    name: 'photo-lookup',
    kind: 'photo',
    pattern: `${DEFAULT_PREFIXES.photo}{module}/by/{field}/{value}/{fileName}`,
  },
  { name: 'photo', kind: 'photo', pattern: `${DEFAULT_PREFIXES.photo}{module}/{recordId}.{ext}` },
  {
    name: 'photo-in-folder',
    kind: 'photo',
    pattern: `${DEFAULT_PREFIXES.photo}{module}/{recordId}/{fileName}`,
  },
  {
    name: 'bulk-write',
    kind: 'bulk-write',
    pattern: `${DEFAULT_PREFIXES['bulk-write']}{module}/{operation}/{fileName}`,
  },
];

export interface CompiledSegment {
  /** The segment must equal this text... */
  literal?: string;
  /** ...or match this expression, whose named groups are placeholders. */
  match?: RegExp;
}

export interface CompiledRoute {
  definition: Readonly<RouteDefinition>;
  segments: CompiledSegment[];
  placeholders: ReadonlySet<Placeholder>;
  /** The literal text before the first placeholder, e.g. `attachments/`. */
  prefix: string;
}

export interface CompiledRoutes {
  readonly routes: readonly CompiledRoute[];
}

const ALLOWED_PROPERTIES = new Set(['name', 'kind', 'pattern', 'module', 'field', 'operation']);
const ROUTE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Checks a table (parsed JSON or literal) and prepares its patterns; throws RouteTableError listing every problem. */
export function compileRoutes(table: unknown): CompiledRoutes {
  if (!Array.isArray(table) || table.length === 0) {
    throw new RouteTableError(['the table must be a non-empty JSON array of routes']);
  }
  const problems: string[] = [];
  const routes: CompiledRoute[] = [];
  const names = new Set<string>();
  const patterns = new Map<string, string>();

  for (const [index, entry] of table.entries()) {
    const label = routeLabel(entry, index);
    const report = (problem: string) => problems.push(`${label}: ${problem}`);
    const definition = readDefinition(entry, report);
    if (!definition) continue;

    if (names.has(definition.name)) report('another route has the same name');
    names.add(definition.name);
    const earlier = patterns.get(definition.pattern);
    if (earlier) report(`route "${earlier}" has the same pattern, so this one can never match`);
    patterns.set(definition.pattern, definition.name);

    const compiled = compilePattern(definition, report);
    if (compiled) {
      checkRouteRules(definition, compiled.placeholders, report);
      routes.push(compiled);
    }
  }
  if (problems.length > 0) throw new RouteTableError(problems);
  return { routes };
}

function routeLabel(entry: unknown, index: number): string {
  const name = (entry as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== '' ? `route #${index + 1} "${name}"` : `route #${index + 1}`;
}

function readDefinition(entry: unknown, forward: (problem: string) => void): RouteDefinition | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    forward('must be an object like {"name", "kind", "pattern"}');
    return undefined;
  }
  const route = entry as Record<string, unknown>;
  const problems: string[] = [];
  const report = (problem: string) => problems.push(problem);
  for (const property of Object.keys(route)) {
    if (!ALLOWED_PROPERTIES.has(property)) {
      report(`unknown property "${property}" (allowed: ${[...ALLOWED_PROPERTIES].join(', ')})`);
    }
  }
  const { name, kind, pattern, module, field, operation } = route;
  if (typeof name !== 'string' || !ROUTE_NAME.test(name)) {
    report('"name" must be 1 to 64 letters, digits, _ . or - (starting with a letter or digit)');
  }
  if (typeof kind !== 'string' || !isKind(kind)) {
    report(`"kind" must be one of ${KINDS.join(', ')}; got ${JSON.stringify(kind)}`);
  }
  if (typeof pattern !== 'string' || pattern === '') report('"pattern" must be a non-empty string');
  for (const [property, value] of [
    ['module', module],
    ['field', field],
  ] as const) {
    if (value === undefined) continue;
    const wrong = typeof value === 'string' ? checkApiName(value) : 'a string';
    if (wrong) report(`"${property}" must be ${wrong}; got ${JSON.stringify(value)}`);
  }
  if (operation !== undefined && (typeof operation !== 'string' || !checkOperation(operation))) {
    report(`"operation" must be one of ${BULK_OPERATIONS.join(', ')}; got ${JSON.stringify(operation)}`);
  }
  for (const problem of problems) forward(problem);
  return problems.length > 0 ? undefined : (route as unknown as RouteDefinition);
}

function compilePattern(
  definition: RouteDefinition,
  report: (problem: string) => void,
): CompiledRoute | undefined {
  const problems: string[] = [];
  const fail = (problem: string) => problems.push(problem);
  const parts = definition.pattern.split('/');
  const placeholders = new Set<Placeholder>();
  const segments: CompiledSegment[] = [];

  if (definition.pattern.includes('\\')) fail('the pattern must not hold a backslash');
  if (parts.some((part) => part === '')) fail('the pattern must not start or end with / nor hold //');
  if (parts.some((part) => part === '.' || part === '..')) fail('the pattern must not hold . or .. segments');

  for (const [index, part] of parts.entries()) {
    const tokens = tokenize(part, fail);
    if (!tokens) continue;
    const isLast = index === parts.length - 1;
    let source = '^';
    let previousWasPlaceholder = false;
    for (const token of tokens) {
      if (token.kind === 'literal') {
        source += escapeRegExp(token.text);
        previousWasPlaceholder = false;
        continue;
      }
      const name = token.text;
      if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
        fail(`unknown placeholder {${name}} (known: ${PLACEHOLDERS.map((p) => `{${p}}`).join(', ')})`);
        continue;
      }
      const placeholder = name as Placeholder;
      if (placeholders.has(placeholder)) fail(`{${placeholder}} appears twice`);
      if (previousWasPlaceholder)
        fail(`{${placeholder}} follows another placeholder: put literal text between them`);
      if ((placeholder === 'fileName' || placeholder === 'ext') && !isLast) {
        fail(`{${placeholder}} may only be in the last segment`);
      }
      placeholders.add(placeholder);
      source += `(?<${placeholder}>.+?)`;
      previousWasPlaceholder = true;
    }
    const literalOnly = tokens.every((token) => token.kind === 'literal');
    if (index === 0 && !literalOnly)
      fail('the first segment must be literal text (the prefix S3 notifications filter on)');
    segments.push(literalOnly ? { literal: part } : { match: new RegExp(`${source}$`, 'u') });
  }

  for (const problem of problems) report(problem);
  if (problems.length > 0) return undefined;
  const firstPlaceholder = definition.pattern.indexOf('{');
  return {
    definition: Object.freeze({ ...definition }),
    segments,
    placeholders,
    prefix: firstPlaceholder < 0 ? definition.pattern : definition.pattern.slice(0, firstPlaceholder),
  };
}

type Token = { kind: 'literal' | 'placeholder'; text: string };

function tokenize(segment: string, fail: (problem: string) => void): Token[] | undefined {
  const tokens: Token[] = [];
  let rest = segment;
  while (rest !== '') {
    const open = rest.indexOf('{');
    const close = rest.indexOf('}');
    if (close >= 0 && (open < 0 || close < open)) {
      fail(`"}" without "{" in segment "${segment}"`);
      return undefined;
    }
    if (open < 0) {
      tokens.push({ kind: 'literal', text: rest });
      break;
    }
    if (open > 0) tokens.push({ kind: 'literal', text: rest.slice(0, open) });
    if (close < 0) {
      fail(`"{" without "}" in segment "${segment}"`);
      return undefined;
    }
    const name = rest.slice(open + 1, close);
    if (name === '' || name.includes('{')) {
      fail(`"${rest.slice(open, close + 1)}" in segment "${segment}" is not a placeholder`);
      return undefined;
    }
    tokens.push({ kind: 'placeholder', text: name });
    rest = rest.slice(close + 1);
  }
  return tokens;
}

/** Which record, which module, which operation: each must come from exactly one place. */
function checkRouteRules(
  definition: RouteDefinition,
  placeholders: ReadonlySet<Placeholder>,
  report: (problem: string) => void,
): void {
  const has = (name: Placeholder) => placeholders.has(name);
  if (has('module') === (definition.module !== undefined)) {
    report(
      has('module') ? 'names {module} and a fixed "module": keep one' : 'needs {module} or a fixed "module"',
    );
  }
  if (definition.kind === 'bulk-write') {
    if (has('operation') === (definition.operation !== undefined)) {
      report(
        has('operation')
          ? 'names {operation} and a fixed "operation": keep one'
          : `a bulk-write route needs {operation} or a fixed "operation" (${BULK_OPERATIONS.join(', ')})`,
      );
    }
    for (const name of ['recordId', 'field', 'value'] as const) {
      if (has(name)) report(`a bulk-write route cannot name {${name}}: bulk writes name no record`);
    }
    if (definition.field !== undefined) report('a bulk-write route cannot fix a lookup "field"');
  }
  if (has('fieldApiName') && definition.kind !== 'attachment') {
    report('only an attachment route can name {fieldApiName} (a file-upload field of the record)');
  }
  if (definition.kind === 'bulk-write') return;

  if (has('operation') || definition.operation !== undefined)
    report(`an ${definition.kind} route takes no operation`);
  const hasField = has('field') || definition.field !== undefined;
  if (has('field') && definition.field !== undefined) report('names {field} and a fixed "field": keep one');
  const lookup = hasField || has('value');
  if (has('recordId') && lookup) report('names both {recordId} and a lookup ({field}/{value}): keep one');
  if (!has('recordId') && !lookup) report('needs {recordId}, or {field} (or a fixed "field") and {value}');
  if (!has('recordId') && lookup && !(hasField && has('value'))) {
    report('a lookup needs both {field} (or a fixed "field") and {value}');
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
