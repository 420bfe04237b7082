/**
 * Which pusher takes a file to its destination (routing/route.ts `Destination`), and what makes
 * one push of it there. One row per way a file lands on a record: a new destination is a row here
 * and its pusher. (A bulk destination is an import, started by bulk/start.ts, not a push.)
 */
import type { FileDestination } from '#lib/routing/route.ts';
import type { PipelineDeps } from './deps.ts';
import type { Outcome } from './outcome.ts';
import { pushFieldFile } from './push-field-file.ts';
import { type FilePush, pushAttachment, pushLink, pushPhoto } from './push-file.ts';

export interface Pusher<D extends FileDestination> {
  push: (deps: PipelineDeps, push: FilePush, destination: D) => Promise<Outcome>;
  /**
   * What makes one push (process.ts): `content`, the same bytes under the same key to the same
   * record are one push however often they are put (metadata `zoho-push: again` asks for another);
   * `write`, each write of the object is a push of its own.
   */
  once: 'content' | 'write';
}

type Pushers = { [To in FileDestination['to']]: Pusher<Extract<FileDestination, { to: To }>> };

export const PUSHERS: Pushers = {
  attachment: { push: pushAttachment, once: 'content' },
  link: { push: pushLink, once: 'content' },
  field: {
    push: (deps, push, destination) => pushFieldFile(deps, push, destination.uploadField),
    once: 'content',
  },
  // A photo replaces the record's current one: a second push of the same bytes is harmless.
  photo: { push: pushPhoto, once: 'write' },
};

/** The row of a destination. */
export function pusherOf<D extends FileDestination>(destination: D): Pusher<D> {
  // Each row takes the destination it is keyed by; TypeScript cannot follow the key to the row.
  return PUSHERS[destination.to] as unknown as Pusher<D>;
}
