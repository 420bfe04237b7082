/**
 * Object key (+ its metadata and content type) → its destination: what to push where, one member
 * of the `Destination` union per way of pushing. Pure: no S3, no Zoho. Everything taken from the
 * key is checked here, so nothing unchecked reaches a URL.
 */
import { isLinkObject } from '#lib/inspect/link.ts';
import { BULK_OPERATIONS, type BulkOperation } from '#zoho/types.ts';
import { type RoutingCode, RoutingError } from './errors.ts';
import type { CompiledRoute, CompiledRoutes, Kind, Placeholder } from './table.ts';
import {
  checkApiName,
  checkExtension,
  checkFileName,
  checkKey,
  checkLookupValue,
  checkOperation,
  checkRecordId,
} from './validate.ts';

export { RouteTableError, type RoutingCode, RoutingError } from './errors.ts';
export {
  type CompiledRoutes,
  compileRoutes,
  DEFAULT_PREFIXES,
  DEFAULT_ROUTES,
  EXTRA_PREFIXES,
  KINDS,
  type Kind,
  type RouteDefinition,
  watchedPrefixes,
} from './table.ts';

/** The record a file goes to: named by the key, or found by a field's value (Search Records). */
export type RecordTarget = { recordId: string } | { lookup: { field: string; value: string } };

/** What every routed key says besides where it goes. */
interface Routed {
  /** The function (and queue) that pushes it. */
  kind: Kind;
  /** The route's name. */
  route: string;
  module: string;
  /** The key's last segment: the name Zoho records. */
  fileName: string;
}

/** A file attached to a record. */
export interface AttachmentDestination extends Routed {
  to: 'attachment';
  kind: 'attachment';
  target: RecordTarget;
}

/** A link file (`.url`, `.webloc`, `text/uri-list`: inspect/link.ts) attached to a record as its URL. */
export interface LinkDestination extends Routed {
  to: 'link';
  kind: 'attachment';
  target: RecordTarget;
}

/** A file put in a file-upload field of a record ({fieldApiName}), beside the files already there. */
export interface FieldDestination extends Routed {
  to: 'field';
  kind: 'attachment';
  target: RecordTarget;
  uploadField: string;
}

/** A record's photo. */
export interface PhotoDestination extends Routed {
  to: 'photo';
  kind: 'photo';
  target: RecordTarget;
}

/** The rows of a CSV (or a ZIP of CSVs) written to a module by bulk write jobs. */
export interface BulkDestination extends Routed {
  to: 'bulk';
  kind: 'bulk-write';
  operation: BulkOperation;
}

/** Where a routed key's object goes: one member per way of pushing it (pipeline/pushers.ts). */
export type Destination =
  | AttachmentDestination
  | LinkDestination
  | FieldDestination
  | PhotoDestination
  | BulkDestination;

/** A destination one file makes on one record. */
export type FileDestination = Exclude<Destination, BulkDestination>;

type Checked<T> = { ok: true; value: T } | { ok: false; error: RoutingError };

export type RouteResult = Checked<Destination>;

/** What routing reads of the object besides its key. */
export interface KeyedObject {
  /** S3 user metadata (`zoho-module`, `zoho-record-id` override the key). */
  metadata?: Record<string, string> | undefined;
  /** Its Content-Type: `text/uri-list` makes it a link. */
  contentType?: string | undefined;
}

/** S3 user metadata (lower-case keys, without `x-amz-meta-`) that overrides the key. */
const METADATA_MODULE = 'zoho-module';
const METADATA_RECORD_ID = 'zoho-record-id';

/**
 * Routes a decoded key. The first route whose pattern fits the key decides; its values are then
 * checked, and a bad one is an error (never a fall-through to another route). Metadata
 * `zoho-module` and `zoho-record-id` replace what the key says; a record id in metadata also turns
 * a lookup route into a direct one. A bulk write names no record, so it ignores `zoho-record-id`.
 * An attachment route's file goes into the record's field when the route names {fieldApiName},
 * else it is a link when its name or content type says so (inspect/link.ts), else an attachment.
 */
export function routeKey(routes: CompiledRoutes, key: string, object: KeyedObject = {}): RouteResult {
  const badKey = checkKey(key);
  if (badKey) return refuse(key, 'INVALID_KEY', `The key "${key}" cannot be routed: ${badKey}.`);
  const match = findRoute(routes, key, object.metadata ?? {});
  if (!match) {
    const expected = routes.routes.map((r) => r.definition.pattern).join(', ');
    return refuse(key, 'UNROUTED', `The key "${key}" matches no route. Expected one of: ${expected}.`);
  }
  const routed = checkRouted(match);
  if (!routed.ok) return routed;
  if (routed.value.kind === 'bulk-write') return bulkDestination(match, routed.value);
  return fileDestination(match, routed.value, object.contentType);
}

/** A key that fits a route: the route, its placeholders' values, and the metadata that overrides them. */
interface Match {
  key: string;
  route: CompiledRoute;
  values: Partial<Record<Placeholder, string>>;
  override: { module?: string; recordId?: string };
  /** `in the key "…" (route "…": pattern)`, to end a message with. */
  where: string;
}

function refuse(key: string, code: RoutingCode, message: string, route?: CompiledRoute) {
  return {
    ok: false as const,
    error: new RoutingError(code, message, { key, route: route?.definition.name }),
  };
}

const fail = (match: Match, code: RoutingCode, message: string) =>
  refuse(match.key, code, message, match.route);

function findRoute(routes: CompiledRoutes, key: string, metadata: Record<string, string>): Match | undefined {
  const segments = key.split('/');
  for (const route of routes.routes) {
    const values = matchSegments(route, segments);
    if (!values) continue;
    const { name, pattern } = route.definition;
    const where = `in the key "${key}" (route "${name}": ${pattern})`;
    return { key, route, values, override: readMetadata(metadata), where };
  }
  return undefined;
}

/** The module (the key's or the metadata's) and the file name, checked. */
function checkRouted(match: Match): Checked<Routed> {
  const { route, values, override, where } = match;
  const definition = route.definition;
  const fileName = match.key.split('/').at(-1) ?? '';
  const module = override.module ?? values.module ?? definition.module ?? '';
  const badModule = checkApiName(module);
  if (badModule) {
    return override.module === undefined
      ? fail(match, 'INVALID_MODULE', `The module "${module}" ${where} must be ${badModule}.`)
      : fail(match, 'INVALID_METADATA', `The metadata ${METADATA_MODULE} "${module}" must be ${badModule}.`);
  }
  const badFileName = checkFileName(fileName);
  if (badFileName)
    return fail(match, 'INVALID_FILE_NAME', `The file name "${fileName}" ${where} must be ${badFileName}.`);
  if (values.ext !== undefined) {
    const badExt = checkExtension(values.ext);
    if (badExt)
      return fail(match, 'INVALID_FILE_NAME', `The extension "${values.ext}" ${where} must be ${badExt}.`);
  }
  return { ok: true, value: { kind: definition.kind, route: definition.name, module, fileName } };
}

function bulkDestination(match: Match, routed: Routed): RouteResult {
  const operation = match.values.operation ?? match.route.definition.operation ?? '';
  if (!checkOperation(operation)) {
    return fail(
      match,
      'INVALID_OPERATION',
      `The operation "${operation}" ${match.where} must be one of ${BULK_OPERATIONS.join(', ')}.`,
    );
  }
  return { ok: true, value: { ...routed, to: 'bulk', kind: 'bulk-write', operation } };
}

function fileDestination(match: Match, routed: Routed, contentType: string | undefined): RouteResult {
  const uploadField = match.values.fieldApiName;
  if (uploadField !== undefined) {
    const bad = checkApiName(uploadField);
    if (bad) return fail(match, 'INVALID_FIELD', `The field "${uploadField}" ${match.where} must be ${bad}.`);
  }
  const target = recordTarget(match);
  if (!target.ok) return target;
  const file = { ...routed, target: target.value };
  if (routed.kind === 'photo') return { ok: true, value: { ...file, to: 'photo', kind: 'photo' } };
  if (uploadField !== undefined)
    return { ok: true, value: { ...file, to: 'field', kind: 'attachment', uploadField } };
  const to = isLinkObject(routed.fileName, contentType) ? 'link' : 'attachment';
  return { ok: true, value: { ...file, to, kind: 'attachment' } };
}

/** The record: named by metadata or the key, else a lookup by a field's value; each checked. */
function recordTarget(match: Match): Checked<RecordTarget> {
  const { values, override, where } = match;
  if (override.recordId !== undefined) {
    const badId = checkRecordId(override.recordId);
    if (badId) {
      const message = `The metadata ${METADATA_RECORD_ID} "${override.recordId}" must be ${badId}.`;
      return fail(match, 'INVALID_METADATA', message);
    }
    return { ok: true, value: { recordId: override.recordId } };
  }
  if (values.recordId !== undefined) {
    const badId = checkRecordId(values.recordId);
    if (badId)
      return fail(
        match,
        'INVALID_RECORD_ID',
        `The record id "${values.recordId}" ${where} must be ${badId}.`,
      );
    return { ok: true, value: { recordId: values.recordId } };
  }
  const field = values.field ?? match.route.definition.field ?? '';
  const badField = checkApiName(field);
  if (badField)
    return fail(match, 'INVALID_FIELD', `The lookup field "${field}" ${where} must be ${badField}.`);
  const value = values.value ?? '';
  const badValue = checkLookupValue(value);
  if (badValue)
    return fail(match, 'INVALID_VALUE', `The lookup value "${value}" ${where} must be ${badValue}.`);
  return { ok: true, value: { lookup: { field, value } } };
}

/** The placeholders' values when the route's pattern fits the key's segments. */
function matchSegments(
  route: CompiledRoute,
  segments: string[],
): Partial<Record<Placeholder, string>> | undefined {
  if (segments.length !== route.segments.length) return undefined;
  const values: Partial<Record<Placeholder, string>> = {};
  for (const [index, segment] of route.segments.entries()) {
    const part = segments[index] ?? '';
    if (segment.literal !== undefined) {
      if (part !== segment.literal) return undefined;
      continue;
    }
    const groups = segment.match?.exec(part)?.groups;
    if (!groups) return undefined;
    Object.assign(values, groups);
  }
  return values;
}

function readMetadata(metadata: Record<string, string>): { module?: string; recordId?: string } {
  const lowered = new Map(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const module = lowered.get(METADATA_MODULE);
  const recordId = lowered.get(METADATA_RECORD_ID);
  return {
    ...(module ? { module } : {}),
    ...(recordId ? { recordId } : {}),
  };
}
