/** A JSON object (not null, not a list): what every parsed answer, message and options file is checked to be. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
