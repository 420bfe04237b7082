/**
 * Zoho's data centres and their hosts (zoho-api.md, "Hosts"): HOSTS is the one list; the data
 * centres' names and the domains a download may come from are read from it.
 */

export interface ZohoHosts {
  /** OAuth token host, e.g. `https://accounts.zoho.com`. */
  accountsUrl: string;
  /** API host; the token response's `api_domain` replaces it. */
  apiUrl: string;
  /** File host for bulk-write ZIP uploads. */
  uploadUrl: string;
}

const HOSTS = {
  us: {
    accountsUrl: 'https://accounts.zoho.com',
    apiUrl: 'https://www.zohoapis.com',
    uploadUrl: 'https://content.zohoapis.com',
  },
  eu: {
    accountsUrl: 'https://accounts.zoho.eu',
    apiUrl: 'https://www.zohoapis.eu',
    uploadUrl: 'https://content.zohoapis.eu',
  },
  // ⚠ An assumption: no Zoho source found for the UK hosts (the official SDKs 8.0 have no UK data
  // centre, routes/dc/ holds us, eu, in, au, jp, ca, sa, cn); ZOHO_*_URL override each of them.
  uk: {
    accountsUrl: 'https://accounts.zoho.uk',
    apiUrl: 'https://www.zohoapis.uk',
    uploadUrl: 'https://content.zohoapis.uk',
  },
  in: {
    accountsUrl: 'https://accounts.zoho.in',
    apiUrl: 'https://www.zohoapis.in',
    uploadUrl: 'https://content.zohoapis.in',
  },
  au: {
    accountsUrl: 'https://accounts.zoho.com.au',
    apiUrl: 'https://www.zohoapis.com.au',
    uploadUrl: 'https://content.zohoapis.com.au',
  },
  jp: {
    accountsUrl: 'https://accounts.zoho.jp',
    apiUrl: 'https://www.zohoapis.jp',
    uploadUrl: 'https://content.zohoapis.jp',
  },
  // ⚠ Sources disagree on the CA and SA upload hosts; ZOHO_UPLOAD_URL overrides them.
  ca: {
    accountsUrl: 'https://accounts.zohocloud.ca',
    apiUrl: 'https://www.zohoapis.ca',
    uploadUrl: 'https://upload.zohocloud.ca',
  },
  sa: {
    accountsUrl: 'https://accounts.zoho.sa',
    apiUrl: 'https://www.zohoapis.sa',
    uploadUrl: 'https://files.zoho.sa',
  },
  cn: {
    accountsUrl: 'https://accounts.zoho.com.cn',
    apiUrl: 'https://www.zohoapis.com.cn',
    uploadUrl: 'https://content.zohoapis.com.cn',
  },
} as const satisfies Record<string, ZohoHosts>;

export type DataCentre = keyof typeof HOSTS;
export const DATA_CENTRES = Object.keys(HOSTS) as readonly DataCentre[];

/**
 * The domains of Zoho's hosts, every data centre's (`zoho.com`, `zohoapis.com.au`,
 * `zohocloud.ca`…): each host from its `zoho…` label on. A download URL Zoho gives may point at
 * any host within them (e.g. `download-accl.zoho.com`).
 */
export const ZOHO_DOMAINS: readonly string[] = [
  ...new Set(
    Object.values(HOSTS).flatMap((hosts: ZohoHosts) =>
      Object.values(hosts).map((url) => new URL(url).hostname.replace(/^([^.]+\.)*?(?=zoho)/, '')),
    ),
  ),
];

export function isDataCentre(value: string): value is DataCentre {
  return Object.hasOwn(HOSTS, value);
}

/** The hosts of a data centre, each replaced by an explicit URL when one is given (a sandbox, a proxy). */
export function resolveHosts(dc: DataCentre, overrides: Partial<ZohoHosts> = {}): ZohoHosts {
  const base = HOSTS[dc];
  return {
    accountsUrl: trimSlash(overrides.accountsUrl ?? base.accountsUrl),
    apiUrl: trimSlash(overrides.apiUrl ?? base.apiUrl),
    uploadUrl: trimSlash(overrides.uploadUrl ?? base.uploadUrl),
  };
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
