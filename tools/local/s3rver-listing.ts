/**
 * ListObjectsV2 as S3 answers it, which s3rver 3.7.1 cannot on Node 17 and later: it ciphers its
 * continuation tokens with DES, which OpenSSL 3 no longer offers, so every truncated page (MaxKeys
 * below the objects under the prefix, 1,000 at most) fails 500 InternalError (jamhall/s3rver#814,
 * fixed upstream but never released). The bucket controller's `getBucket` is replaced by one that
 * answers list-type=2 itself, from s3rver's own store, with a token of its own, and hands every
 * other listing (v1) to s3rver's. The routes call the controller through its module's exports at
 * each request, so the replacement takes effect for every s3rver in this thread.
 */
import { createRequire } from 'node:module';

/** s3rver's request context, as far as its bucket listing needs it. */
interface ListingContext {
  params: { bucket: string };
  query: Record<string, string | string[] | undefined>;
  store: {
    listObjects(
      bucket: string,
      options: { delimiter?: string; prefix?: string; startAfter?: string; maxKeys: number },
    ): Promise<{
      objects: Array<{ key: string; size: number; lastModifiedDate: Date; metadata: Record<string, string> }>;
      commonPrefixes: string[];
      isTruncated: boolean;
    }>;
  };
  body: unknown;
}

type S3ErrorClass = new (code: string, message: string, detail?: Record<string, unknown>) => Error;

const require = createRequire(import.meta.url);
const bucketController = require('s3rver/lib/controllers/bucket.js') as {
  getBucket(ctx: ListingContext): Promise<void>;
  listObjectsV2Patched?: true;
};
const S3Error = require('s3rver/lib/models/error.js') as S3ErrorClass;
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account.js') as {
  DUMMY_ACCOUNT: { id: string; displayName: string };
};

/** S3 lists at most 1,000 keys a page, whatever MaxKeys asks for (and echoes what was asked). */
const MAX_KEYS_PER_PAGE = 1000;

/** Makes s3rver's ListObjectsV2 page with continuation tokens; once per thread is enough, more is harmless. */
export function patchListObjectsV2(): void {
  if (bucketController.listObjectsV2Patched) return;
  const original = bucketController.getBucket;
  bucketController.getBucket = (ctx) =>
    single(ctx.query['list-type']) === '2' ? listObjectsV2(ctx) : original(ctx);
  bucketController.listObjectsV2Patched = true;
}

/** GET Bucket, list-type=2: https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html */
async function listObjectsV2(ctx: ListingContext): Promise<void> {
  const { bucket } = ctx.params;
  const query = (name: string) => single(ctx.query[name]);
  if (query('marker') !== undefined) {
    throw new S3Error('InvalidArgument', 'Marker unsupported with REST.GET.BUCKET in list-type=2', {
      ArgumentName: 'marker',
    });
  }
  const maxKeys = maxKeysOf(query('max-keys'));
  const token = query('continuation-token') || undefined;
  const prefix = query('prefix') || undefined;
  const delimiter = query('delimiter') || undefined;
  const startAfter = token ? keyInToken(token, bucket) : query('start-after');
  const result =
    maxKeys === 0
      ? { objects: [], commonPrefixes: [], isTruncated: false }
      : await ctx.store.listObjects(bucket, {
          ...(delimiter ? { delimiter } : {}),
          ...(prefix ? { prefix } : {}),
          ...(startAfter ? { startAfter } : {}),
          maxKeys: Math.min(MAX_KEYS_PER_PAGE, maxKeys),
        });
  const last = result.objects.at(-1)?.key;
  const fetchOwner = query('fetch-owner') === 'true';
  ctx.body = {
    ListBucketResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Name: bucket,
      Prefix: prefix ?? '',
      StartAfter: token ? undefined : startAfter,
      ContinuationToken: token,
      NextContinuationToken: result.isTruncated && last !== undefined ? tokenFor(bucket, last) : undefined,
      KeyCount: result.objects.length + result.commonPrefixes.length,
      MaxKeys: query('max-keys') ?? MAX_KEYS_PER_PAGE,
      Delimiter: delimiter,
      IsTruncated: result.isTruncated,
      Contents: result.objects.map((object) => ({
        Key: object.key,
        LastModified: object.lastModifiedDate.toISOString(),
        ETag: object.metadata.etag,
        Size: object.size,
        Owner: fetchOwner ? { ID: DUMMY_ACCOUNT.id, DisplayName: DUMMY_ACCOUNT.displayName } : undefined,
        StorageClass: 'STANDARD',
      })),
      CommonPrefixes: result.commonPrefixes.map((commonPrefix) => ({ Prefix: commonPrefix })),
    },
  };
}

function maxKeysOf(value: string | undefined): number {
  if (value === undefined) return MAX_KEYS_PER_PAGE;
  const maxKeys = Number(value);
  if (!/^-?\d+$/.test(value) || maxKeys < 0 || maxKeys > 2_147_483_647) {
    throw new S3Error('InvalidArgument', 'Argument maxKeys must be an integer between 0 and 2147483647', {
      ArgumentName: 'maxKeys',
      ArgumentValue: value,
    });
  }
  return maxKeys;
}

/** An opaque token (to the client) that says where the next page starts: after this key of this bucket. */
function tokenFor(bucket: string, key: string): string {
  return Buffer.from(JSON.stringify({ bucket, after: key }), 'utf8').toString('base64');
}

function keyInToken(token: string, bucket: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as {
      bucket?: unknown;
      after?: unknown;
    };
    if (parsed.bucket === bucket && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // answered below
  }
  throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
    ArgumentName: 'continuation-token',
  });
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
