/** Lambda entry: the attachment pushes. Dependencies are built once per container. */
import { loadConfig } from '#lib/config.ts';
import { createDeps } from '#lib/pipeline/deps.ts';
import { createHandler } from '#lib/pipeline/handler.ts';

export const handler = createHandler('attachment', await createDeps('attachment', loadConfig()));
