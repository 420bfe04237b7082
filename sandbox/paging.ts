/** `page` / `per_page` as Zoho's list and search APIs take them (at most 200 per page). */
import { invalidData, ZohoFailure } from './http.ts';

const MAX_PER_PAGE = 200;
/** Zoho: `page` reaches the first 2,000 records; past them only `page_token` does. */
const PAGE_PARAM_LIMIT = 2000;

export interface PageSlice<T> {
  items: T[];
  info: Record<string, unknown>;
}

/**
 * One page of `all`, by `page`/`per_page` or by the `page_token` of the previous page, as Zoho's
 * v8 lists do (crm-oas v8.0 `attachments.json` takes `page_token`; Get Records: a page past the
 * first 2,000 records by `page` is 400 DISCRETE_PAGINATION_LIMIT_EXCEEDED). The token here is the
 * offset, opaque to the caller.
 */
export function pageOf<T>(all: T[], query: URLSearchParams): PageSlice<T> {
  const { page, perPage } = pageParams(query);
  const token = query.get('page_token');
  let offset = (page - 1) * perPage;
  if (token !== null) {
    const decoded = /^sbx-(\d+)$/.exec(Buffer.from(token, 'base64url').toString('latin1'));
    if (!decoded) throw invalidData('invalid data', { param_name: 'page_token' });
    offset = Number(decoded[1]);
  } else if (offset + perPage > PAGE_PARAM_LIMIT) {
    throw new ZohoFailure(
      400,
      'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
      'use page_token to fetch more than 2000 records',
      {
        limit: PAGE_PARAM_LIMIT,
      },
    );
  }
  const items = all.slice(offset, offset + perPage);
  const more = all.length > offset + perPage;
  const next = Buffer.from(`sbx-${offset + perPage}`, 'latin1').toString('base64url');
  return {
    items,
    info: {
      per_page: perPage,
      count: items.length,
      page: token === null ? page : Math.floor(offset / perPage) + 1,
      more_records: more,
      ...(more ? { next_page_token: next } : {}),
    },
  };
}

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
