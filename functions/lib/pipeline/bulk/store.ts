/**
 * One DynamoDB item per bulk import, keyed by its write id, written only with conditional writes:
 * created if absent, replaced only from the version read. Two deliveries racing each other
 * cannot both move an import on: the second write fails its condition and its work is dropped.
 *
 * Item: { id (S, the write id), version (N), status (S), deadline (N, ms), state (S, JSON) }.
 * In an unversioned bucket a write id holds the event's sequencer, which a replay's event cannot
 * carry: so each import there also leaves a pointer, { id (S, `latest:` + bucket/key#eTag),
 * write (S) }, by which a replay of those bytes finds the import it resumes (`lastWriteOf`).
 * What is read back is checked field by field (`parseImportState`): it decides which job ids are
 * polled and where the access token goes, so a damaged item is refused, never trusted.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { isObject } from '#lib/json.ts';
import { bareETag } from '#lib/s3/object.ts';
import { API_NAME, BULK_OPERATIONS, ZOHO_ID } from '#zoho/types.ts';
import { IMPORT_STATUSES, type ImportPart, type ImportState, PART_STATES } from './machine.ts';

export interface ImportStore {
  get(write: string): Promise<ImportState | undefined>;
  /** Writes a new import; false when one exists already. */
  create(state: ImportState): Promise<boolean>;
  /** Writes `state` with version + 1 if the stored version is still `state.version`; false otherwise. */
  save(state: ImportState): Promise<ImportState | undefined>;
  /** The write id of the latest import of these bytes under this key (unversioned buckets only). */
  lastWriteOf(source: ImportState['source']): Promise<string | undefined>;
}

/** The pointer's id: a bucket name holds no `:`, so it is never a write id. */
const latestId = (source: ImportState['source']) =>
  `latest:${source.bucket}/${source.key}#${bareETag(source.eTag)}`;

/** The bulk function's store; a bulk-write function without IMPORTS_TABLE cannot run. */
export function importStore(deps: { imports: ImportStore | undefined }): ImportStore {
  if (!deps.imports) throw new Error('IMPORTS_TABLE is not set: bulk imports have nowhere to be kept');
  return deps.imports;
}

export class ImportRecordError extends Error {
  readonly code = 'BULK_IMPORT_RECORD_INVALID';
  readonly retryable = false;
}

export function createImportStore(client: DynamoDBClient, tableName: string): ImportStore {
  const item = (state: ImportState) => {
    const { version, ...rest } = state;
    return {
      id: { S: state.write },
      version: { N: String(version) },
      status: { S: state.status },
      deadline: { N: String(state.deadline) },
      state: { S: JSON.stringify(rest) },
    };
  };
  const conditional = async (put: PutItemCommand) => {
    try {
      await client.send(put);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    async get(write) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { id: { S: write } }, ConsistentRead: true }),
      );
      if (!Item) return undefined;
      let body: unknown;
      try {
        body = JSON.parse(Item.state?.S ?? '');
      } catch {
        throw new ImportRecordError(`The bulk import record of ${write} is not JSON.`);
      }
      return parseImportState(body, Number(Item.version?.N), write);
    },
    async create(state) {
      // The pointer first: one naming a record never made is taken for a new import.
      if (!state.source.versionId) {
        await client.send(
          new PutItemCommand({
            TableName: tableName,
            Item: { id: { S: latestId(state.source) }, write: { S: state.write } },
          }),
        );
      }
      return conditional(
        new PutItemCommand({
          TableName: tableName,
          Item: item({ ...state, version: 1 }),
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    },
    async lastWriteOf(source) {
      const { Item } = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { id: { S: latestId(source) } },
          ConsistentRead: true,
        }),
      );
      const write = Item?.write?.S;
      // Only a write of this very key: a damaged pointer never leads a replay to another import.
      return write?.startsWith(`${source.bucket}/${source.key}#`) ? write : undefined;
    },
    async save(state) {
      const saved = { ...state, version: state.version + 1 };
      const ok = await conditional(
        new PutItemCommand({
          TableName: tableName,
          Item: item(saved),
          ConditionExpression: 'version = :version',
          ExpressionAttributeValues: { ':version': { N: String(state.version) } },
        }),
      );
      return ok ? saved : undefined;
    },
  };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** The stored state, checked: every field of the right type, ids Zoho's digits, known states only. */
function parseImportState(body: unknown, version: number, write: string): ImportState {
  const bad = (what: string) =>
    new ImportRecordError(`The bulk import record of ${write} is damaged: ${what}.`);
  if (!isObject(body) || body.write !== write) throw bad('it is not this write’s');
  const { attempt, status, source, module, operation, startedAt, deadline, parts } = body;
  if (!isCount(version) || version < 1) throw bad('no version');
  if (!isCount(attempt) || attempt < 1) throw bad('attempt');
  if (typeof status !== 'string' || !(IMPORT_STATUSES as readonly string[]).includes(status))
    throw bad('status');
  if (!isObject(source) || typeof source.bucket !== 'string' || typeof source.key !== 'string')
    throw bad('source');
  if (typeof source.eTag !== 'string' || !['string', 'undefined'].includes(typeof source.versionId))
    throw bad('source');
  if (typeof body.csv !== 'string') throw bad('csv');
  if (
    typeof module !== 'string' ||
    !API_NAME.test(module) ||
    !(BULK_OPERATIONS as readonly string[]).includes(operation as string)
  )
    throw bad('module or operation');
  if (!isCount(startedAt) || !isCount(deadline)) throw bad('times');
  if (!Array.isArray(parts)) throw bad('parts');
  return {
    write,
    attempt,
    status: status as ImportState['status'],
    source: {
      bucket: source.bucket,
      key: source.key,
      eTag: source.eTag,
      ...(typeof source.versionId === 'string' ? { versionId: source.versionId } : {}),
    },
    module,
    csv: body.csv,
    operation: operation as ImportState['operation'],
    startedAt,
    deadline,
    parts: parts.map((part, index) => parsePart(part, (what) => bad(`part ${index + 1}: ${what}`))),
    version,
  };
}

function parsePart(part: unknown, bad: (what: string) => Error): ImportPart {
  if (!isObject(part) || !isCount(part.rows)) throw bad('rows');
  if (typeof part.state !== 'string' || !(PART_STATES as readonly string[]).includes(part.state))
    throw bad('state');
  for (const id of ['fileId', 'jobId'] as const) {
    if (part[id] !== undefined && (typeof part[id] !== 'string' || !ZOHO_ID.test(part[id] as string)))
      throw bad(`${id} is not a Zoho id`);
  }
  if (part.jobStatus !== undefined && typeof part.jobStatus !== 'string') throw bad('jobStatus');
  if (part.downloadUrl !== undefined && typeof part.downloadUrl !== 'string') throw bad('downloadUrl');
  const counts = part.counts;
  if (
    counts !== undefined &&
    !(isObject(counts) && [counts.added, counts.updated, counts.skipped, counts.total].every(isCount))
  )
    throw bad('counts');
  return part as unknown as ImportPart;
}
