/** The photos Lambda end to end against the embedded S3 and the Zoho sandbox. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bmp, gif, png } from '../unit/inspect-fixtures.ts';
import { type Harness, startHarness } from './pipeline-harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

describe('photos', () => {
  it('sets a Contact photo from photos/{module}/{recordId}.{ext} and tags the object done', async () => {
    const contactId = h.sandbox.seed.Contacts?.[0] ?? '';
    const key = `photos/Contacts/${contactId}.png`;
    expect(await h.deliver('photo', await h.put(key, png(640, 480)))).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'done', 'zoho-photo': 'png 640x480' });
    expect(h.sandbox.inspect().photos[`Contacts/${contactId}`]?.size).toBe(png(640, 480).length);
  });

  it('takes photos/{module}/{recordId}/{fileName} and replaces the earlier photo', async () => {
    const accountId = h.sandbox.seed.Accounts?.[0] ?? '';
    await h.deliver('photo', await h.put(`photos/Accounts/${accountId}/logo one.gif`, gif(100, 100)));
    const key = `photos/Accounts/${accountId}/logo two.bmp`;
    await h.deliver('photo', await h.put(key, bmp(200, 100)));
    expect((await h.tags(key))['zoho-status']).toBe('done');
    expect(h.sandbox.inspect().photos[`Accounts/${accountId}`]?.size).toBe(bmp(200, 100).length);
  });

  it('finds the record by a lookup route, and refuses a lookup that matches nobody', async () => {
    const contact = h.sandbox.inspect().records.Contacts?.[1];
    const key = `photos/Contacts/by/Email/${contact?.Email as string}/portrait.gif`;
    await h.deliver('photo', await h.put(key, gif(300, 400)));
    expect((await h.tags(key))['zoho-status']).toBe('done');
    expect(h.sandbox.inspect().photos[`Contacts/${contact?.id as string}`]?.size).toBe(gif(300, 400).length);

    const nobody = 'photos/Contacts/by/Email/nobody@example.invalid/portrait.gif';
    await h.deliver('photo', await h.put(nobody, gif(300, 400)));
    expect(await h.tags(nobody)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'LOOKUP_NO_MATCH' });
  });

  it.each([
    [
      'a file that is not an image',
      'photos/Contacts/{contact}.png',
      Buffer.from('%PDF-1.7 not a picture'),
      'UNSUPPORTED_IMAGE',
    ],
    ['an image over 10 megapixels', 'photos/Contacts/{contact}.png', png(5000, 3000), 'IMAGE_TOO_LARGE'],
    ['a module with no photos in Zoho', 'photos/Notes/{note}.png', png(10, 10), 'PHOTO_NOT_SUPPORTED'],
  ])('refuses %s and leaves the object untouched', async (_what, template, body, code) => {
    const key = template
      .replace('{contact}', h.sandbox.seed.Contacts?.[2] ?? '')
      .replace('{note}', h.sandbox.seed.Notes?.[0] ?? '');
    expect(await h.deliver('photo', await h.put(key, body))).toEqual([]);
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': code });
    expect((await h.readBytes(key)).equals(body)).toBe(true);
  });

  it('reports a LOCKED record with Zoho’s own code', async () => {
    const key = `photos/Leads/${h.sandbox.seed.locked?.[0] ?? ''}.png`;
    await h.deliver('photo', await h.put(key, png(50, 50)));
    expect(await h.tags(key)).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'RECORD_LOCKED' });
  });

  it('refuses a photo for a module without photos (Tasks) before any byte goes out', async () => {
    const taskId = h.sandbox.seed.Tasks?.[0] ?? '';
    expect(taskId).not.toBe('');
    const key = `photos/Tasks/${taskId}.png`;
    const before = h.sandbox.inspect().requests.filter((r) => r.path.includes('/photo')).length;
    expect(await h.deliver('photo', await h.put(key, png(50, 50)))).toEqual([]);
    const tags = await h.tags(key);
    expect(tags).toMatchObject({ 'zoho-status': 'failed', 'zoho-error': 'PHOTO_NOT_SUPPORTED' });
    expect(tags['zoho-reason']).toContain('attachments/');
    expect(h.sandbox.inspect().requests.filter((r) => r.path.includes('/photo')).length).toBe(before);
  });
});
