/**
 * Why a key cannot be pushed, said so a person can fix it. Never retryable: the key (or the
 * object's metadata) has to change.
 */

export type RoutingCode =
  | 'UNROUTED'
  | 'INVALID_KEY'
  | 'INVALID_MODULE'
  | 'INVALID_RECORD_ID'
  | 'INVALID_FIELD'
  | 'INVALID_VALUE'
  | 'INVALID_OPERATION'
  | 'INVALID_FILE_NAME'
  | 'INVALID_METADATA';

export class RoutingError extends Error {
  readonly code: RoutingCode;
  readonly retryable = false;
  /** The key that was routed (decoded). */
  readonly key: string;
  /** The route that matched the key, when one did. */
  readonly route: string | undefined;

  constructor(code: RoutingCode, message: string, fields: { key: string; route?: string | undefined }) {
    super(message);
    this.name = 'RoutingError';
    this.code = code;
    this.key = fields.key;
    this.route = fields.route;
  }
}

/** The route table itself is wrong (thrown at start, before any event is handled). */
export class RouteTableError extends Error {
  readonly code = 'INVALID_ROUTES';
  readonly retryable = false;
  /** One line per problem, each naming its route. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`The route table is invalid:\n- ${problems.join('\n- ')}`);
    this.name = 'RouteTableError';
    this.problems = problems;
  }
}
