/** Lambda entry: the photo pushes. Dependencies are built once per container. */
import { loadConfig } from '#lib/config.ts';
import { createDeps } from '#lib/pipeline/deps.ts';
import { createHandler } from '#lib/pipeline/handler.ts';

export const handler = createHandler('photo', await createDeps('photo', loadConfig()));
