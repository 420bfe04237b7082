/**
 * What every group of the client's calls shares (the call engine, the hosts, the URL builders) and
 * the readers and guards they use alike.
 */
import type { Readable } from 'node:stream';
import { firstDetailsId, protocol } from './answer-data.ts';
import { type Caller, type Reader, readJson } from './call.ts';
import type { ZohoHosts } from './hosts.ts';
import { multipartFileBody } from './multipart.ts';
import type { AccessToken, CallOptions, UploadFile } from './types.ts';

export interface ClientParts {
  caller: Caller;
  hosts: ZohoHosts;
  version: string;
  api: (token: AccessToken, path: string, query?: Record<string, string | number>) => string;
}

/** Zoho's list and search APIs give at most 200 records a page. */
export const PER_PAGE = 200;

/** A file streamed up as the multipart part `file`; the id Zoho answers (`data[0].details.id`). */
export async function uploadForId(
  caller: Caller,
  spec: { name: string; url: (token: AccessToken) => string },
  file: UploadFile,
  callOptions: CallOptions | undefined,
): Promise<string> {
  const json = await caller.callJson(
    { ...spec, method: 'POST', body: multipartFileBody('file', file) },
    callOptions,
  );
  const id = firstDetailsId(json);
  if (!id) throw protocol(spec.name, 'no data[0].details.id in the answer', json);
  return id;
}

/** Reads a 200 answer as the file, streamed (the pacing turn is held until it is read); any other answer is an error. */
export function streamed(name: string): Reader<Readable> {
  return async (incoming, outgoing, keepTurn) => {
    if (incoming.status === 200) {
      const release = keepTurn();
      incoming.body.once('close', release);
      return incoming.body as Readable;
    }
    await readJson(incoming, outgoing);
    throw protocol(name, `answer ${incoming.status} instead of the file`, undefined);
  };
}

/** Validation failures happen before the upload owns the stream: free it, the caller handed it over. */
export function ownUpload<T>(file: UploadFile, check: () => T): T {
  try {
    return check();
  } catch (error) {
    file.body.destroy();
    throw error;
  }
}
