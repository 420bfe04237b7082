/** The little of s3rver and dynalite that the local pipeline uses (neither ships types). */

declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  export interface S3rverOptions {
    port?: number;
    address?: string;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** A Koa request context, as far as a middleware placed first needs it. */
  export interface S3rverRequest {
    method: string;
    path: string;
    query: Record<string, string | string[] | undefined>;
    headers: Record<string, string | string[] | undefined>;
    /** The response body as the controller left it (an object before s3rver renders it as XML). */
    body: unknown;
    status: number;
    /** The response content type. */
    type: string;
    /** Sets a response header. */
    set(name: string, value: string): void;
  }

  /** An object's subresource as s3rver stores it (`tagging` is the one used here). */
  export interface S3rverSubresource {
    type: string;
    toXML(space?: number): string;
  }

  export interface S3rverStore {
    getMetadata(bucket: string, key: string): Promise<Record<string, string>>;
    getSubresource(bucket: string, key: string, type: string): Promise<S3rverSubresource | null>;
    putSubresource(bucket: string, key: string, resource: S3rverSubresource): Promise<void>;
    deleteSubresource(bucket: string, key: string, type: string): Promise<void>;
    /** The file that holds an object's `resource` (`object`, `metadata.json`, `tagging.xml`). */
    getResourcePath(bucket: string, key: string, resource: string): string;
  }

  /** The event s3rver emits: S3's notification shape, but with the key not URL-encoded. */
  export interface S3rverEvent {
    Records: Array<{
      eventName: string;
      eventTime: string;
      requestParameters: { sourceIPAddress: string };
      s3: {
        bucket: { name: string };
        object: { key: string; size?: number; eTag?: string };
      };
    }>;
  }

  class S3rver {
    constructor(options: S3rverOptions);
    httpServer: Server | undefined;
    /** Koa's middleware list: composed when the server starts, so it may be edited before `run`. */
    middleware: Array<(ctx: S3rverRequest, next: () => Promise<void>) => Promise<void>>;
    store: S3rverStore;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: 'event', listener: (event: S3rverEvent) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  export default S3rver;
}

declare module 'dynalite' {
  import type { Server } from 'node:http';

  export interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    path?: string;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
