/**
 * The one table of differences allowed between our client's requests and Zoho's TypeScript SDK
 * 8.0's for the same operation (sdk-parity.test.ts), each with the Zoho source that shows ours is
 * right. A difference not listed here fails; a listing no run shows fails too (it went stale).
 *
 * Empty today: for every operation the project performs, both send the same method, path, query
 * parameter names, form field names, JSON body keys and contract headers. What differs and is not
 * compared (values may differ) is noted in sdk-parity.test.ts where it arises:
 * - the token request's body: ours URL-encoded, the SDK's multipart/form-data
 *   (models/authenticator/oauth_token.js); Zoho's accounts server takes both, the names are the same;
 * - a record update's Content-Type: ours `application/json`, the SDK's none (it sets one only for
 *   utils/util/constants.js SET_TO_CONTENT_TYPE paths); the JSON is the same.
 */
export interface ParityException {
  /** The operation, as sdk-parity.test.ts names it (our client's method). */
  operation: string;
  /** The difference, as `differences()` words it. */
  difference: string;
  /** The Zoho source (crm-oas v8.0 file + JSON path, SDK file, seed) that shows ours is right. */
  source: string;
}

export const PARITY_EXCEPTIONS: readonly ParityException[] = [];
