/**
 * The sandbox with a state folder (`npm start`'s `.local/sandbox`): started again, it holds what it
 * held, as Zoho does, and goes on counting ids where it stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '#sandbox/server.ts';
import { client, fileForm, mintToken, png, postForm, sha256 } from './sandbox-helpers.ts';

const stateDir = await mkdtemp(join(tmpdir(), 'sandbox-state-'));
afterAll(() => rm(stateDir, { recursive: true, force: true }));

describe('the sandbox started again on its state folder', () => {
  it('keeps records, attachment bytes, photos, tokens and credentials, and never gives an id twice', async () => {
    let sandbox: Sandbox = await startSandbox({ port: 0, stateDir });
    const leadId = sandbox.seed.Leads?.[0] ?? '';
    const token = await mintToken(sandbox);
    const call = client(sandbox, token);
    const uploaded = await postForm(
      call,
      `/crm/v8/Leads/${leadId}/Attachments`,
      fileForm('kept bytes', 'kept.txt'),
    );
    expect(uploaded.status).toBe(200);
    const photo = await postForm(call, `/crm/v8/Leads/${leadId}/photo`, fileForm(png(4, 4), 'face.png'));
    expect(photo.status).toBe(200);
    const recordId = sandbox.createRecord('Contacts', { Last_Name: 'Before' });
    const credentials = sandbox.credentials;
    const before = sandbox.inspect();
    await sandbox.close();

    sandbox = await startSandbox({ port: 0, stateDir });
    try {
      expect(sandbox.credentials).toEqual(credentials);
      const after = sandbox.inspect();
      expect(after.attachments).toEqual(before.attachments);
      expect(after.photos).toEqual(before.photos);
      expect(after.records.Contacts?.map((r) => r.id)).toContain(recordId);
      // The access token minted before still works, and the attachment's bytes are there.
      const again = client(sandbox, token);
      const attachmentId = before.attachments[0]?.id ?? '';
      const download = await again(`/crm/v8/Leads/${leadId}/Attachments/${attachmentId}`);
      expect(download.status).toBe(200);
      expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256('kept bytes'));
      // Ids go on from the last one given.
      const next = sandbox.createRecord('Contacts', { Last_Name: 'After' });
      expect(BigInt(next)).toBeGreaterThan(BigInt(recordId));
      expect(BigInt(next)).toBeGreaterThan(BigInt(attachmentId));
    } finally {
      await sandbox.close();
    }
  });
});
