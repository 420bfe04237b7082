/** DynamoDB's limits that more than one module is shaped by. */

/** BatchGetItem reads at most 100 keys a call (DynamoDB API Reference, BatchGetItem). */
export const BATCH_GET_MAX_KEYS = 100;
