/** The org (`GET /crm/{v}/org`): the sandbox's one org, as Zoho describes an org. */
import type { Route } from './context.ts';
import { json } from './http.ts';

export interface SandboxOrg {
  id: string;
  zgid: string;
  companyName: string;
}

export function orgRoute(org: SandboxOrg): Route {
  return {
    host: 'api',
    pattern: /^\/crm\/(?<v>v[2-8](?:\.\d)?)\/org$/,
    methods: { GET: async () => json(200, { org: [orgView(org)] }) },
  };
}

function orgView(org: SandboxOrg): Record<string, unknown> {
  return {
    id: org.id,
    zgid: org.zgid,
    company_name: org.companyName,
    alias: null,
    primary_email: 'admin@sandbox.example',
    primary_zuid: '5725767000000100001',
    domain_name: 'sandbox-org',
    type: 'sandbox',
    country: 'United States',
    country_code: 'US',
    time_zone: 'UTC',
    currency: 'US Dollar',
    currency_symbol: '$',
    iso_code: 'USD',
    currency_locale: 'en_US',
    employee_count: '10',
    mc_status: false,
    gapps_enabled: false,
    translation_enabled: false,
    privacy_settings: false,
    website: null,
    phone: null,
    mobile: null,
    fax: null,
    street: null,
    city: null,
    state: null,
    zip: null,
    description: null,
    photo_id: null,
    license_details: {
      paid: true,
      paid_type: 'standard',
      trial_type: null,
      trial_expiry: null,
      users_license_purchased: 10,
      paid_expiry: null,
    },
  };
}
