import { describe, expect, it } from 'vitest';
import { ZohoRequestError } from '#zoho/errors.ts';
import { DATA_CENTRES, resolveHosts, trimSlash, ZOHO_DOMAINS } from '#zoho/hosts.ts';
import { trustedDownloadUrl } from '#zoho/paths.ts';

const local = {
  accountsUrl: 'http://127.0.0.1:1',
  apiUrl: 'http://127.0.0.1:2',
  uploadUrl: 'http://127.0.0.1:3',
};
const token = { accessToken: 't', apiDomain: 'http://127.0.0.1:2', expiresAt: 0 };

describe("Zoho's domains, derived from every data centre's hosts", () => {
  it('trusts a download on any host within any data centre’s domains, and nothing that only looks like one', () => {
    for (const dc of DATA_CENTRES) {
      for (const url of Object.values(resolveHosts(dc))) {
        const { hostname } = new URL(url);
        expect(trustedDownloadUrl('t', `https://${hostname}/r.zip`, token, local)).toBe(
          `https://${hostname}/r.zip`,
        );
      }
    }
    expect(ZOHO_DOMAINS).toContain('zohocloud.ca');
    expect(() => trustedDownloadUrl('t', 'https://zoho.com.evil.example/r.zip', token, local)).toThrow(
      ZohoRequestError,
    );
    expect(() => trustedDownloadUrl('t', 'https://notzoho.com/r.zip', token, local)).toThrow(
      ZohoRequestError,
    );
    expect(() => trustedDownloadUrl('t', 'http://download-accl.zoho.com/r.zip', token, local)).toThrow(
      ZohoRequestError,
    );
  });

  it('trims trailing slashes', () => {
    expect(trimSlash('https://a.example//')).toBe('https://a.example');
  });
});
