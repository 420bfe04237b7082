/**
 * Object key (+ its metadata) → what to push where. Pure: no S3, no Zoho. Everything taken from
 * the key is checked here, so nothing unchecked reaches a URL.
 */
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

export interface FileRouteMatch {
  kind: 'attachment' | 'photo';
  /** The route's name. */
  route: string;
  module: string;
  target: RecordTarget;
  /** The key's last segment: the name Zoho records. */
  fileName: string;
  /** Set when the file goes into this file-upload field of the record, not into its attachments. */
  uploadField?: string;
  operation?: undefined;
}

export interface BulkRouteMatch {
  kind: 'bulk-write';
  route: string;
  module: string;
  operation: BulkOperation;
  fileName: string;
}

export type RouteMatch = FileRouteMatch | BulkRouteMatch;

export type RouteResult = { ok: true; value: RouteMatch } | { ok: false; error: RoutingError };

/** S3 user metadata (lower-case keys, without `x-amz-meta-`) that overrides the key. */
const METADATA_MODULE = 'zoho-module';
const METADATA_RECORD_ID = 'zoho-record-id';

/**
 * Routes a decoded key. The first route whose pattern fits the key decides; its values are then
 * checked, and a bad one is an error (never a fall-through to another route). Metadata
 * `zoho-module` and `zoho-record-id` replace what the key says; a record id in metadata also turns
 * a lookup route into a direct one. A bulk write names no record, so it ignores `zoho-record-id`.
 */
export function routeKey(
  routes: CompiledRoutes,
  key: string,
  metadata: Record<string, string> = {},
): RouteResult {
  const fail = (code: RoutingCode, message: string, route?: CompiledRoute) => ({
    ok: false as const,
    error: new RoutingError(code, message, { key, route: route?.definition.name }),
  });

  const badKey = checkKey(key);
  if (badKey) return fail('INVALID_KEY', `The key "${key}" cannot be routed: ${badKey}.`);

  const segments = key.split('/');
  let route: CompiledRoute | undefined;
  let values: Partial<Record<Placeholder, string>> | undefined;
  for (const candidate of routes.routes) {
    values = matchSegments(candidate, segments);
    if (values) {
      route = candidate;
      break;
    }
  }
  if (!route || !values) {
    const expected = routes.routes.map((r) => r.definition.pattern).join(', ');
    return fail('UNROUTED', `The key "${key}" matches no route. Expected one of: ${expected}.`);
  }

  const definition = route.definition;
  const where = `in the key "${key}" (route "${definition.name}": ${definition.pattern})`;
  const fileName = segments.at(-1) ?? '';
  const override = readMetadata(metadata);

  const module = override.module ?? values.module ?? definition.module ?? '';
  const badModule = checkApiName(module);
  if (badModule) {
    return override.module === undefined
      ? fail('INVALID_MODULE', `The module "${module}" ${where} must be ${badModule}.`, route)
      : fail('INVALID_METADATA', `The metadata ${METADATA_MODULE} "${module}" must be ${badModule}.`, route);
  }

  const badFileName = checkFileName(fileName);
  if (badFileName)
    return fail('INVALID_FILE_NAME', `The file name "${fileName}" ${where} must be ${badFileName}.`, route);
  if (values.ext !== undefined) {
    const badExt = checkExtension(values.ext);
    if (badExt)
      return fail('INVALID_FILE_NAME', `The extension "${values.ext}" ${where} must be ${badExt}.`, route);
  }

  if (definition.kind === 'bulk-write') {
    const operation = values.operation ?? definition.operation ?? '';
    if (!checkOperation(operation)) {
      return fail(
        'INVALID_OPERATION',
        `The operation "${operation}" ${where} must be one of ${BULK_OPERATIONS.join(', ')}.`,
        route,
      );
    }
    return { ok: true, value: { kind: 'bulk-write', route: definition.name, module, operation, fileName } };
  }

  const kind: Exclude<Kind, 'bulk-write'> = definition.kind;
  const uploadField = values.fieldApiName;
  if (uploadField !== undefined) {
    const badUploadField = checkApiName(uploadField);
    if (badUploadField) {
      return fail('INVALID_FIELD', `The field "${uploadField}" ${where} must be ${badUploadField}.`, route);
    }
  }
  const file = { kind, route: definition.name, module, fileName, ...(uploadField ? { uploadField } : {}) };
  if (override.recordId !== undefined) {
    const badId = checkRecordId(override.recordId);
    if (badId) {
      return fail(
        'INVALID_METADATA',
        `The metadata ${METADATA_RECORD_ID} "${override.recordId}" must be ${badId}.`,
        route,
      );
    }
    return {
      ok: true,
      value: { ...file, target: { recordId: override.recordId } },
    };
  }
  if (values.recordId !== undefined) {
    const badId = checkRecordId(values.recordId);
    if (badId)
      return fail(
        'INVALID_RECORD_ID',
        `The record id "${values.recordId}" ${where} must be ${badId}.`,
        route,
      );
    return {
      ok: true,
      value: { ...file, target: { recordId: values.recordId } },
    };
  }

  const field = values.field ?? definition.field ?? '';
  const badField = checkApiName(field);
  if (badField)
    return fail('INVALID_FIELD', `The lookup field "${field}" ${where} must be ${badField}.`, route);
  const value = values.value ?? '';
  const badValue = checkLookupValue(value);
  if (badValue)
    return fail('INVALID_VALUE', `The lookup value "${value}" ${where} must be ${badValue}.`, route);
  return {
    ok: true,
    value: { ...file, target: { lookup: { field, value } } },
  };
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
