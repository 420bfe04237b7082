/**
 * Stands in for the `mime-types` package in the Lambda bundles (the esbuild alias is set in
 * infra/bundling.ts, `LAMBDA_ESBUILD.alias`). form-data requires mime-types, and with it mime-db
 * (134 KB minified), only to guess a part's type from its file name when the part names none;
 * multipart.ts gives each part its whole head, type included, so form-data never asks
 * (test/unit/bundle-stand-ins.test.ts compares the bundled body with the unbundled one).
 * Were it to ask, it would get mime-types' answer for a name it does not know.
 */
export function lookup(_path: string): false {
  return false;
}
