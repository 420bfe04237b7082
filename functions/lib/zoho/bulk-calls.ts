/** The client's bulk write calls: the org's zgid, the ZIP to the file host, the job, its result. */
import { isObject } from '../json.ts';
import { bulkJobBody, detailOf, protocol, toBulkWriteJob } from './answer-data.ts';
import { stringOf } from './answer-errors.ts';
import { type ClientParts, streamed } from './client-parts.ts';
import { jsonBody } from './http.ts';
import { multipartFileBody } from './multipart.ts';
import { digits, segment, trustedDownloadUrl } from './paths.ts';
import type { AccessToken, ZohoClient } from './types.ts';

export function bulkWriteCalls({ caller, hosts, version, api }: ClientParts) {
  const bulkApi = (token: AccessToken, path: string) => `${token.apiDomain}/crm/bulk/${version}/${path}`;
  let zgid: Promise<string> | undefined;

  const getOrgZgid: ZohoClient['getOrgZgid'] = (callOptions) => {
    zgid ??= caller
      .callJson({ name: 'getOrgZgid', method: 'GET', url: (t) => api(t, 'org') }, callOptions)
      .then((json) => {
        const org = isObject(json) && Array.isArray(json.org) ? json.org[0] : undefined;
        const value = isObject(org) ? stringOf(org.zgid) : undefined;
        if (!value) throw protocol('getOrgZgid', 'no org[0].zgid in the answer', json);
        return value;
      });
    const pending = zgid;
    pending.catch(() => {
      if (zgid === pending) zgid = undefined;
    });
    return pending;
  };

  return {
    getOrgZgid,

    async uploadBulkFile(file, callOptions) {
      // Built first: it catches the stream's errors while the zgid is fetched.
      const body = multipartFileBody('file', file);
      let orgId: string;
      try {
        orgId = await getOrgZgid(callOptions);
      } catch (error) {
        body.dispose();
        throw error;
      }
      const json = await caller.callJson(
        {
          name: 'uploadBulkFile',
          method: 'POST',
          url: () => `${hosts.uploadUrl}/crm/${version}/upload`,
          headers: { feature: 'bulk-write', 'X-CRM-ORG': orgId },
          body,
        },
        callOptions,
      );
      const fileId = detailOf(json, 'file_id');
      if (!fileId) throw protocol('uploadBulkFile', 'no details.file_id in the answer', json);
      return { fileId };
    },

    async createBulkWriteJob(spec, callOptions) {
      const body = bulkJobBody(spec);
      const json = await caller.callJson(
        { name: 'createBulkWriteJob', method: 'POST', url: (t) => bulkApi(t, 'write'), body: jsonBody(body) },
        callOptions,
      );
      const jobId = detailOf(json, 'id');
      if (!jobId) throw protocol('createBulkWriteJob', 'no details.id in the answer', json);
      return { jobId };
    },

    async getBulkWriteJob(jobId, callOptions) {
      const id = digits('job id', jobId);
      const json = await caller.callJson(
        { name: 'getBulkWriteJob', method: 'GET', url: (t) => bulkApi(t, `write/${segment(id)}`) },
        callOptions,
      );
      return toBulkWriteJob(id, json);
    },

    async downloadBulkWriteResult(downloadUrl, callOptions) {
      const name = 'downloadBulkWriteResult';
      return caller.execute(
        { name, method: 'GET', url: (t) => trustedDownloadUrl(name, downloadUrl, t, hosts) },
        callOptions,
        streamed(name),
      );
    },
  } satisfies Partial<ZohoClient>;
}
