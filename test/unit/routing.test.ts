import { describe, expect, it } from 'vitest';
import {
  type CompiledRoutes,
  compileRoutes,
  DEFAULT_ROUTES,
  type Destination,
  RouteTableError,
  type RoutingError,
  routeKey,
} from '#lib/routing/route.ts';
import { decodeS3EventKey } from '#lib/s3/event.ts';

const routes = compileRoutes(DEFAULT_ROUTES);

function routed(key: string, metadata?: Record<string, string>, table: CompiledRoutes = routes): Destination {
  const result = routeKey(table, key, { metadata });
  if (!result.ok)
    throw new Error(`expected ${key} to route, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

function refused(
  key: string,
  metadata?: Record<string, string>,
  table: CompiledRoutes = routes,
): RoutingError {
  const result = routeKey(table, key, { metadata });
  if (result.ok) throw new Error(`expected ${key} to be refused, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function tableProblems(table: unknown): string[] {
  try {
    compileRoutes(table);
  } catch (error) {
    if (error instanceof RouteTableError) return error.problems;
    throw error;
  }
  throw new Error('expected a RouteTableError');
}

describe('routeKey with the default routes', () => {
  it('routes an attachment to its record', () => {
    expect(routed('attachments/Leads/4876876000000624001/contract.pdf')).toEqual({
      kind: 'attachment',
      to: 'attachment',
      route: 'attachment',
      module: 'Leads',
      target: { recordId: '4876876000000624001' },
      fileName: 'contract.pdf',
    });
  });

  it('keeps decoded file names whole: spaces, plus, non-ASCII, emoji', () => {
    expect(routed(decodeS3EventKey('attachments/Leads/1/red+flower.jpg')).fileName).toBe('red flower.jpg');
    expect(routed(decodeS3EventKey('attachments/Leads/1/a%2Bb.txt')).fileName).toBe('a+b.txt');
    expect(routed('attachments/Contacts/2/Résumé 東京.pdf').fileName).toBe('Résumé 東京.pdf');
    expect(routed('attachments/Deals/3/📎 clip 😀.png').fileName).toBe('📎 clip 😀.png');
    expect(routed('attachments/My_Module__c/4/100% done.txt')).toMatchObject({
      module: 'My_Module__c',
      fileName: '100% done.txt',
    });
  });

  it('routes a lookup by field and value', () => {
    expect(routed('attachments/Contacts/by/Email/jane@example.com/cv.pdf')).toEqual({
      kind: 'attachment',
      to: 'attachment',
      route: 'attachment-lookup',
      module: 'Contacts',
      target: { lookup: { field: 'Email', value: 'jane@example.com' } },
      fileName: 'cv.pdf',
    });
    expect(routed('photos/Leads/by/Lead_Code/A 12+3/face.jpg')).toMatchObject({
      kind: 'photo',
      target: { lookup: { field: 'Lead_Code', value: 'A 12+3' } },
    });
  });

  it('routes photos named by their record, and photos in a record folder', () => {
    expect(routed('photos/Contacts/123.png')).toEqual({
      kind: 'photo',
      to: 'photo',
      route: 'photo',
      module: 'Contacts',
      target: { recordId: '123' },
      fileName: '123.png',
    });
    expect(routed('photos/Contacts/123.jpeg').fileName).toBe('123.jpeg');
    expect(routed('photos/Accounts/77/logo.gif')).toMatchObject({
      route: 'photo-in-folder',
      target: { recordId: '77' },
      fileName: 'logo.gif',
    });
  });

  it('routes bulk writes with their operation', () => {
    for (const operation of ['insert', 'update', 'upsert'] as const) {
      expect(routed(`bulk-write/Leads/${operation}/batch 1.zip`)).toEqual({
        kind: 'bulk-write',
        to: 'bulk',
        route: 'bulk-write',
        module: 'Leads',
        operation,
        fileName: 'batch 1.zip',
      });
    }
  });

  it('routes every file under a bulk-write route to the bulk function, which says what it takes', () => {
    // A ZIP or a CSV in any case, and anything else too: the function refuses it with a reason (NOT_A_ZIP).
    for (const fileName of ['LEADS.ZIP', 'leads.csv', 'Leads.CSV', 'notes.txt']) {
      expect(routed(`bulk-write/Leads/insert/${fileName}`)).toMatchObject({ kind: 'bulk-write', fileName });
    }
  });

  it("routes a file for a record's file-upload field through the attachment kind", () => {
    expect(routed('fields/Leads/5725767000000412001/Documents/Signed contract.pdf')).toEqual({
      kind: 'attachment',
      to: 'field',
      route: 'field-file',
      module: 'Leads',
      target: { recordId: '5725767000000412001' },
      uploadField: 'Documents',
      fileName: 'Signed contract.pdf',
    });
    expect(routed('fields/Contacts/by/Email/ana@example.com/CV_Files/cv.pdf')).toEqual({
      kind: 'attachment',
      to: 'field',
      route: 'field-file-lookup',
      module: 'Contacts',
      target: { lookup: { field: 'Email', value: 'ana@example.com' } },
      uploadField: 'CV_Files',
      fileName: 'cv.pdf',
    });
    // An attachment names no field.
    expect(routed('attachments/Leads/5725767000000412001/a.pdf')).not.toHaveProperty('uploadField');
  });

  it('says a link file is a link: by its name (.url, .webloc) or its content type (text/uri-list)', () => {
    const to = (key: string, contentType?: string) => {
      const result = routeKey(routes, key, { contentType });
      return result.ok ? result.value.to : result.error.code;
    };
    expect(routeKey(routes, 'attachments/Leads/1/site.url')).toEqual({
      ok: true,
      value: {
        kind: 'attachment',
        to: 'link',
        route: 'attachment',
        module: 'Leads',
        target: { recordId: '1' },
        fileName: 'site.url',
      },
    });
    expect(to('attachments/Leads/1/Site.WEBLOC')).toBe('link');
    expect(to('attachments/Leads/by/Email/a@b.c/links.txt', 'text/uri-list; charset=utf-8')).toBe('link');
    expect(to('attachments/Leads/1/links.txt', 'text/plain')).toBe('attachment');
    // A file-upload field takes the file itself, and a photo is never a link.
    expect(to('fields/Leads/1/Documents/site.url')).toBe('field');
    expect(to('photos/Leads/1/site.url', 'text/uri-list')).toBe('photo');
  });

  it('checks the field of a file-upload route like a module name, before anything reaches a URL', () => {
    for (const field of ['Docu-ments', '1Documents', 'Documents.v2', 'Docu ments', 'x'.repeat(101)]) {
      const error = refused(`fields/Leads/5725767000000412001/${field}/a.pdf`);
      expect(error.code).toBe('INVALID_FIELD');
      expect(error.route).toBe('field-file');
    }
    expect(refused('fields/Leads/12ab/Documents/a.pdf').code).toBe('INVALID_RECORD_ID');
    expect(refused('fields/Le ads/1/Documents/a.pdf').code).toBe('INVALID_MODULE');
    expect(refused('fields/Leads/1/../a.pdf').code).toBe('INVALID_KEY');
    expect(refused('fields/Leads/1/Documents%2F..%2Fphoto/a.pdf').code).toBe('INVALID_KEY');
    expect(refused('fields/Leads/1/a.pdf').code).toBe('UNROUTED');
  });

  it('refuses an unknown bulk operation, naming the ones it knows', () => {
    const error = refused('bulk-write/Leads/delete/a.zip');
    expect(error.code).toBe('INVALID_OPERATION');
    expect(error.message).toContain('insert, update, upsert');
    expect(refused('bulk-write/Leads/Insert/a.zip').code).toBe('INVALID_OPERATION');
  });

  it('answers UNROUTED for keys no route fits, listing the patterns', () => {
    for (const key of [
      'elsewhere/Leads/1/a.txt',
      'attachments/Leads/1',
      'attachments/Leads/1/2/3/4/5',
      'bulk-write/Leads/insert/more/a.csv',
      'photos/Leads',
    ]) {
      const error = refused(key);
      expect(error.code, key).toBe('UNROUTED');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('attachments/{module}/{recordId}/{fileName}');
    }
  });

  it.each([
    ['attachments/Leads/12a3/x.pdf', 'INVALID_RECORD_ID', '12a3'],
    ['attachments/Leads/-1/x.pdf', 'INVALID_RECORD_ID', '-1'],
    ['attachments/Leads/1234567890123456789012345678901/x.pdf', 'INVALID_RECORD_ID', '31'],
    ['photos/Leads/12a3.png', 'INVALID_RECORD_ID', '12a3'],
    ['attachments/Le ads/1/x.pdf', 'INVALID_MODULE', 'Le ads'],
    ['attachments/1Leads/1/x.pdf', 'INVALID_MODULE', '1Leads'],
    ['attachments/Leads?x=1/1/x.pdf', 'INVALID_MODULE', 'Leads?x=1'],
    [`attachments/${'L'.repeat(101)}/1/x.pdf`, 'INVALID_MODULE', '100'],
    ['attachments/Leads/by/E-mail/a/x.pdf', 'INVALID_FIELD', 'E-mail'],
    [`attachments/Leads/by/Email/${'v'.repeat(256)}/x.pdf`, 'INVALID_VALUE', '255'],
    [`attachments/Leads/1/${'é'.repeat(128)}.pdf`, 'INVALID_FILE_NAME', '255 bytes'],
    ['photos/Leads/12.p g', 'INVALID_FILE_NAME', 'p g'],
  ])('refuses %s with %s', (key, code, mention) => {
    const error = refused(key);
    expect(error.code).toBe(code);
    expect(error.message).toContain(mention === '31' ? '1 to 30 digits' : mention);
    expect(error.key).toBe(key);
  });

  it('says which route matched and what it expected', () => {
    const error = refused('attachments/Leads/12a3/x.pdf');
    expect(error.route).toBe('attachment');
    expect(error.message).toBe(
      'The record id "12a3" in the key "attachments/Leads/12a3/x.pdf" (route "attachment": attachments/{module}/{recordId}/{fileName}) must be a Zoho record id: 1 to 30 digits, e.g. 4876876000000624001.',
    );
  });
});

describe('routeKey refuses smuggled path segments', () => {
  it.each([
    ['attachments/Leads/123/../../x', 'a . or .. segment'],
    ['attachments/Leads/123/./x', 'a . or .. segment'],
    ['attachments/Leads/123/..', 'a . or .. segment'],
    ['attachments//Leads/123/x', 'empty segment'],
    ['attachments/Leads/123/', 'ends with /'],
    ['/attachments/Leads/123/x', 'starts with /'],
    ['attachments/Leads/123/a\\..\\b', 'backslash'],
    ['attachments/Leads/123/a\u0000b', 'control character'],
    ['attachments/Leads/123/a\nb', 'control character'],
    ['attachments/Leads/123/a%2F..%2Fb', 'encoded slash'],
    ['attachments/Leads/123/a%5cb', 'encoded slash or backslash'],
    ['', 'empty'],
    [`attachments/Leads/1/${'x'.repeat(1100)}`, '1024 bytes'],
  ])('%j', (key, reason) => {
    const error = refused(key);
    expect(error.code).toBe('INVALID_KEY');
    expect(error.message).toContain(reason);
  });

  it('refuses encoded slashes once the event key is decoded', () => {
    const key = decodeS3EventKey('attachments/Leads%2F..%2F/123/x.pdf');
    expect(key).toBe('attachments/Leads/..//123/x.pdf');
    expect(refused(key).code).toBe('INVALID_KEY');
    expect(refused(decodeS3EventKey('attachments/Leads/1/%252F..%252Fx')).code).toBe('INVALID_KEY');
  });
});

describe('routeKey with object metadata', () => {
  it('takes the module and record id from metadata over the key', () => {
    expect(
      routed('attachments/Leads/1/a.pdf', { 'zoho-module': 'Contacts', 'zoho-record-id': '99' }),
    ).toMatchObject({ module: 'Contacts', target: { recordId: '99' } });
  });

  it('turns a lookup route into a direct one with a record id in metadata', () => {
    expect(routed('attachments/Leads/by/Email/a@b.c/a.pdf', { 'zoho-record-id': ' 42 ' })).toMatchObject({
      route: 'attachment-lookup',
      target: { recordId: '42' },
    });
  });

  it('refuses bad metadata as metadata, not as the key', () => {
    const badId = refused('attachments/Leads/1/a.pdf', { 'zoho-record-id': '1 OR 1=1' });
    expect(badId.code).toBe('INVALID_METADATA');
    expect(badId.message).toContain('zoho-record-id');
    const badModule = refused('attachments/Leads/1/a.pdf', { 'zoho-module': '../Users' });
    expect(badModule.code).toBe('INVALID_METADATA');
    expect(badModule.message).toContain('zoho-module');
  });

  it('ignores empty metadata and unrelated metadata, and reads keys in any case', () => {
    expect(routed('attachments/Leads/1/a.pdf', { 'zoho-record-id': '', other: 'x' })).toMatchObject({
      target: { recordId: '1' },
    });
    expect(routed('attachments/Leads/1/a.pdf', { 'Zoho-Module': 'Deals' }).module).toBe('Deals');
  });

  it('lets a bulk write take its module from metadata and ignores a record id', () => {
    expect(
      routed('bulk-write/Leads/insert/a.zip', { 'zoho-module': 'Contacts', 'zoho-record-id': '1' }),
    ).toEqual({
      kind: 'bulk-write',
      to: 'bulk',
      route: 'bulk-write',
      module: 'Contacts',
      operation: 'insert',
      fileName: 'a.zip',
    });
  });

  it('still refuses a smuggling key whatever the metadata says', () => {
    expect(refused('attachments/Leads/1/../x', { 'zoho-record-id': '1' }).code).toBe('INVALID_KEY');
  });
});

describe('custom route tables', () => {
  const custom = compileRoutes([
    { name: 'deal-docs', kind: 'attachment', pattern: 'inbox/deals/{recordId}/{fileName}', module: 'Deals' },
    {
      name: 'by-email',
      kind: 'attachment',
      pattern: 'inbox/people/{value}/{fileName}',
      module: 'Contacts',
      field: 'Email',
    },
    { name: 'badge', kind: 'photo', pattern: 'badges/{module}/id-{recordId}.{ext}' },
    {
      name: 'leads-import',
      kind: 'bulk-write',
      pattern: 'imports/leads/{fileName}.zip',
      module: 'Leads',
      operation: 'upsert',
    },
  ]);

  it('fixes module, field and operation as data', () => {
    expect(routed('inbox/deals/5/offer.pdf', undefined, custom)).toEqual({
      kind: 'attachment',
      to: 'attachment',
      route: 'deal-docs',
      module: 'Deals',
      target: { recordId: '5' },
      fileName: 'offer.pdf',
    });
    expect(routed('inbox/people/jane@example.com/cv.pdf', undefined, custom)).toMatchObject({
      module: 'Contacts',
      target: { lookup: { field: 'Email', value: 'jane@example.com' } },
    });
    expect(routed('imports/leads/2026-11.zip', undefined, custom)).toEqual({
      kind: 'bulk-write',
      to: 'bulk',
      route: 'leads-import',
      module: 'Leads',
      operation: 'upsert',
      fileName: '2026-11.zip',
    });
  });

  it('matches literal text around placeholders within a segment', () => {
    expect(routed('badges/Contacts/id-42.png', undefined, custom)).toMatchObject({
      target: { recordId: '42' },
      fileName: 'id-42.png',
    });
    expect(refused('badges/Contacts/42.png', undefined, custom).code).toBe('UNROUTED');
  });

  it('replaces the default routes entirely', () => {
    expect(refused('attachments/Leads/1/a.pdf', undefined, custom).code).toBe('UNROUTED');
  });

  it('decides by the first route whose pattern fits', () => {
    const ordered = compileRoutes([
      { name: 'first', kind: 'attachment', pattern: 'docs/{module}/{recordId}/{fileName}' },
      { name: 'second', kind: 'photo', pattern: 'docs/{module}/{recordId}/{fileName}.png' },
    ]);
    expect(routed('docs/Leads/1/a.png', undefined, ordered).route).toBe('first');
  });
});

describe('compileRoutes', () => {
  it('accepts the default table', () => {
    expect(compileRoutes(DEFAULT_ROUTES).routes.map((r) => r.definition.name)).toEqual(
      DEFAULT_ROUTES.map((r) => r.name),
    );
  });

  it('refuses a table that is not a non-empty array', () => {
    expect(tableProblems([])).toEqual(['the table must be a non-empty JSON array of routes']);
    expect(tableProblems({ routes: [] })).toHaveLength(1);
  });

  it.each([
    [{ name: 'a', kind: 'note', pattern: 'x/{module}/{recordId}/{fileName}' }, '"kind" must be one of'],
    [{ name: '', kind: 'photo', pattern: 'x/{module}/{recordId}/{fileName}' }, '"name"'],
    [{ name: 'a', kind: 'photo' }, '"pattern"'],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}/{fileName}', extra: 1 },
      'unknown property "extra"',
    ],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{recordID}/{fileName}' },
      'unknown placeholder {recordID}',
    ],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}{ext}' }, 'follows another placeholder'],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{fileName}/{recordId}' },
      '{fileName} may only be in the last segment',
    ],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}/{module}' }, '{module} appears twice'],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module/{recordId}/{fileName}' }, 'without "}"'],
    [{ name: 'a', kind: 'photo', pattern: 'x/module}/{recordId}/{fileName}' }, 'without "{"'],
    [{ name: 'a', kind: 'photo', pattern: 'x/{}/{recordId}/{fileName}' }, 'is not a placeholder'],
    [
      { name: 'a', kind: 'photo', pattern: '/x/{module}/{recordId}/{fileName}' },
      'must not start or end with /',
    ],
    [{ name: 'a', kind: 'photo', pattern: 'x//{module}/{recordId}/{fileName}' }, 'nor hold //'],
    [{ name: 'a', kind: 'photo', pattern: 'x/../{module}/{recordId}/{fileName}' }, '. or .. segments'],
    [
      { name: 'a', kind: 'photo', pattern: '{module}/{recordId}/{fileName}' },
      'first segment must be literal',
    ],
    [{ name: 'a', kind: 'photo', pattern: 'x/{recordId}/{fileName}' }, 'needs {module} or a fixed "module"'],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}/{fileName}', module: 'Leads' }, 'keep one'],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module}/{fileName}' }, 'needs {recordId}'],
    [{ name: 'a', kind: 'photo', pattern: 'x/{module}/{field}/{fileName}' }, 'needs both {field}'],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}/{value}/{fileName}' },
      'names both {recordId} and a lookup',
    ],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{recordId}/{operation}/{fileName}' },
      'takes no operation',
    ],
    [
      { name: 'a', kind: 'bulk-write', pattern: 'x/{module}/{fileName}.zip' },
      'needs {operation} or a fixed "operation"',
    ],
    [
      { name: 'a', kind: 'bulk-write', pattern: 'x/{module}/{operation}/{recordId}.zip' },
      'cannot name {recordId}',
    ],
    [
      { name: 'a', kind: 'bulk-write', pattern: 'x/{module}/{fileName}.zip', operation: 'delete' },
      '"operation" must be one of',
    ],
    [{ name: 'a', kind: 'photo', pattern: 'x/{recordId}/{fileName}', module: 'Le ads' }, '"module" must be'],
    [
      { name: 'a', kind: 'photo', pattern: 'x/{module}/{value}/{fileName}', field: 'E-mail' },
      '"field" must be',
    ],
    ['attachments/{module}/{recordId}/{fileName}', 'must be an object'],
  ])('refuses %j, naming the route', (route, problem) => {
    const problems = tableProblems([route]);
    expect(problems.join('\n')).toContain(problem);
    expect(problems[0]).toMatch(/^route #1/);
  });

  it('lets only attachment routes name {fieldApiName}', () => {
    expect(
      tableProblems([
        { name: 'p', kind: 'photo', pattern: 'pics/{module}/{recordId}/{fieldApiName}/{fileName}' },
      ]),
    ).toEqual([
      'route #1 "p": only an attachment route can name {fieldApiName} (a file-upload field of the record)',
    ]);
    expect(
      tableProblems([
        { name: 'b', kind: 'bulk-write', pattern: 'b/{module}/{operation}/{fieldApiName}/{fileName}' },
      ]),
    ).toEqual([
      'route #1 "b": only an attachment route can name {fieldApiName} (a file-upload field of the record)',
    ]);
    const own = compileRoutes([
      {
        name: 'docs',
        kind: 'attachment',
        pattern: 'docs/{fieldApiName}/{recordId}/{fileName}',
        module: 'Deals',
      },
    ]);
    expect(routed('docs/Contract/1/a.pdf', {}, own)).toMatchObject({
      module: 'Deals',
      uploadField: 'Contract',
    });
  });

  it('lists every problem of every route in one error', () => {
    const error = (() => {
      try {
        compileRoutes([
          { name: 'ok', kind: 'attachment', pattern: 'a/{module}/{recordId}/{fileName}' },
          { name: 'ok', kind: 'attachment', pattern: 'a/{module}/{recordId}/{fileName}' },
          { name: 'typo', kind: 'photo', pattern: 'p/{modul}/{recordId}/{fileName}' },
        ]);
      } catch (caught) {
        return caught as RouteTableError;
      }
      throw new Error('expected a RouteTableError');
    })();
    expect(error).toBeInstanceOf(RouteTableError);
    expect(error.code).toBe('INVALID_ROUTES');
    expect(error.problems).toEqual([
      'route #2 "ok": another route has the same name',
      'route #2 "ok": route "ok" has the same pattern, so this one can never match',
      'route #3 "typo": unknown placeholder {modul} (known: {module}, {recordId}, {field}, {value}, {operation}, {fileName}, {ext}, {fieldApiName})',
    ]);
    expect(error.message).toContain('route #3 "typo"');
  });
});
