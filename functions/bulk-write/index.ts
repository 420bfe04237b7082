/** Lambda entry: the bulk-write pushes. Dependencies are built once per container. */
import { loadConfig } from '#lib/config.ts';
import { createDeps } from '#lib/pipeline/deps.ts';
import { createHandler } from '#lib/pipeline/handler.ts';

export const handler = createHandler('bulk-write', await createDeps('bulk-write', loadConfig()));
