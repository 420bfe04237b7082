/** `page` / `per_page` as Zoho's list and search APIs take them (at most 200 per page). */
import { invalidData } from './http.ts';

const MAX_PER_PAGE = 200;

export function pageParams(query: URLSearchParams): { page: number; perPage: number } {
  return {
    page: positive(query, 'page', 1, Number.MAX_SAFE_INTEGER),
    perPage: positive(query, 'per_page', MAX_PER_PAGE, MAX_PER_PAGE),
  };
}

function positive(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw invalidData('invalid data', { param_name: name });
  return value;
}

/** Only the asked fields, and always `id`; everything when no list was given. */
export function pickFields(
  view: Record<string, unknown>,
  wanted: string[] | undefined,
): Record<string, unknown> {
  if (!wanted) return view;
  const picked: Record<string, unknown> = {};
  for (const name of wanted) if (name in view) picked[name] = view[name];
  picked.id = view.id;
  return picked;
}
