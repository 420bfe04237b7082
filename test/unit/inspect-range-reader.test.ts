import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferRangeReader, type RangeReader, s3RangeReader } from '#lib/inspect/range-reader.ts';

const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

async function streamed(reader: RangeReader, start?: number, end?: number): Promise<Buffer> {
  return Buffer.concat(await (await reader.stream(start, end)).toArray());
}

/** The same contract, whatever the reader reads from. */
async function checkContract(reader: RangeReader): Promise<void> {
  expect(reader.size).toBe(bytes.length);
  expect(await reader.read(0, 10)).toEqual(bytes.subarray(0, 10));
  expect(await reader.read(990, 1000)).toEqual(bytes.subarray(990));
  expect(await reader.read(500, 501)).toEqual(bytes.subarray(500, 501));
  expect((await reader.read(7, 7)).length).toBe(0);
  expect(await streamed(reader)).toEqual(bytes);
  expect(await streamed(reader, 100, 300)).toEqual(bytes.subarray(100, 300));
  expect((await streamed(reader, 1000, 1000)).length).toBe(0);
  await expect(reader.read(990, 1001)).rejects.toThrow(RangeError);
  await expect(reader.read(10, 5)).rejects.toThrow(RangeError);
}

describe('bufferRangeReader', () => {
  it('reads [start, end) of a buffer', async () => {
    await checkContract(bufferRangeReader(bytes));
  });
});

describe('s3RangeReader', () => {
  it('asks S3 for bytes=start-(end-1) of the pinned version', async () => {
    const inputs: Array<GetObjectCommand['input']> = [];
    const s3 = {
      send: async (command: GetObjectCommand) => {
        inputs.push(command.input);
        const [, from, to] = /^bytes=(\d+)-(\d+)$/.exec(command.input.Range ?? '') ?? [];
        return { Body: Readable.from([bytes.subarray(Number(from), Number(to) + 1)]) };
      },
    } as unknown as S3Client;
    const reader = s3RangeReader(s3, 'drop-bucket', 'photos/Leads/1/a.png', bytes.length, 'v-3');
    expect(await reader.read(10, 20)).toEqual(bytes.subarray(10, 20));
    expect(await streamed(reader, 0, 5)).toEqual(bytes.subarray(0, 5));
    expect(inputs).toEqual([
      { Bucket: 'drop-bucket', Key: 'photos/Leads/1/a.png', Range: 'bytes=10-19', VersionId: 'v-3' },
      { Bucket: 'drop-bucket', Key: 'photos/Leads/1/a.png', Range: 'bytes=0-4', VersionId: 'v-3' },
    ]);
    // An empty range never reaches S3 (it would answer 416).
    await reader.read(3, 3);
    expect(inputs).toHaveLength(2);
  });

  it('refuses a short answer rather than checking the wrong bytes', async () => {
    const s3 = { send: async () => ({ Body: Readable.from([Buffer.alloc(3)]) }) } as unknown as S3Client;
    await expect(s3RangeReader(s3, 'b', 'k', 100).read(0, 10)).rejects.toThrow(
      'returned 3 bytes, expected 10',
    );
  });

  describe('against a local S3 server', () => {
    interface LocalS3 {
      run(): Promise<{ port: number }>;
      close(): Promise<void>;
    }
    const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => LocalS3;
    let server: LocalS3;
    let directory: string;
    let s3: S3Client;

    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'inspect-s3-'));
      server = new S3rver({
        address: '127.0.0.1',
        port: 0,
        silent: true,
        directory,
        configureBuckets: [{ name: 'drop-bucket' }],
      });
      const { port } = await server.run();
      s3 = new S3Client({
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      await s3.send(
        new PutObjectCommand({
          Bucket: 'drop-bucket',
          Key: 'bulk-write/Leads/insert/a b+c.zip',
          Body: bytes,
        }),
      );
    });

    afterAll(async () => {
      s3?.destroy();
      await server?.close();
      await rm(directory, { recursive: true, force: true });
    });

    it('reads the ranges with real ranged GETs', async () => {
      await checkContract(
        s3RangeReader(s3, 'drop-bucket', 'bulk-write/Leads/insert/a b+c.zip', bytes.length),
      );
    });
  });
});
