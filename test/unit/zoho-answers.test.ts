import { describe, expect, it } from 'vitest';
import { parseAnswer, parseJson } from '#zoho/answer-errors.ts';
import {
  ZohoAuthError,
  type ZohoError,
  ZohoNotFoundError,
  ZohoProtocolError,
  ZohoRequestError,
  ZohoServerError,
  ZohoThrottledError,
} from '#zoho/errors.ts';

const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers,
  text: typeof body === 'string' ? body : JSON.stringify(body),
});
const flat = (code: string, message = 'm', details: unknown = {}) => ({
  code,
  details,
  message,
  status: 'error',
});

function failure(status: number, body: unknown, headers?: Record<string, string>): ZohoError {
  try {
    parseAnswer(answer(status, body, headers));
  } catch (error) {
    return error as ZohoError;
  }
  throw new Error('expected the answer to be an error');
}

describe('reading Zoho answers', () => {
  it('returns the JSON of a success and nothing for 204', () => {
    expect(parseAnswer(answer(200, { data: [{ code: 'SUCCESS', status: 'success' }] }))).toEqual({
      data: [{ code: 'SUCCESS', status: 'success' }],
    });
    expect(parseAnswer(answer(204, ''))).toBeUndefined();
  });

  it('maps the flat envelope, keeping Zoho code, status and details', () => {
    const error = failure(
      400,
      flat('INVALID_MODULE', 'the module name given seems to be invalid', { resource_path_index: 0 }),
    );
    expect(error).toBeInstanceOf(ZohoNotFoundError);
    expect(error).toMatchObject({
      zohoCode: 'INVALID_MODULE',
      status: 400,
      details: { resource_path_index: 0 },
    });
    expect(error.message).toContain('the module name given seems to be invalid');
  });

  it('maps the data-array envelope (attachments)', () => {
    const error = failure(400, { data: [flat('INVALID_DATA', 'the related id given seems to be invalid')] });
    expect(error).toBeInstanceOf(ZohoNotFoundError);
    expect(error.zohoCode).toBe('INVALID_DATA');
  });

  it('finds errors hidden in HTTP 200 bodies', () => {
    expect(failure(200, flat('INVALID_FILE_FORMAT'))).toMatchObject({
      zohoCode: 'INVALID_FILE_FORMAT',
      status: 200,
    });
    expect(failure(200, { ERROR_CODE: 'FILE_TOO_LARGE', ERROR_MESSAGE: 'too big' })).toBeInstanceOf(
      ZohoRequestError,
    );
    expect(failure(200, { ERROR_CODE: 'FILE_TOO_LARGE' }).zohoCode).toBe('FILE_TOO_LARGE');
    expect(
      failure(200, { data: [{ status: 'success' }, flat('INVALID_DATA', 'invalid file type')] }),
    ).toBeInstanceOf(ZohoRequestError);
    expect(failure(200, 'whatever', { 'x-error': 'INVALID_FILE_FORMAT' }).zohoCode).toBe(
      'INVALID_FILE_FORMAT',
    );
  });

  it("reads the file host's x-error from the body (crm-oas v8.0 bulk_write.json API_Exception)", () => {
    const hint = 'check if headers [feature, X-CRM-ORG] are present and valid';
    const both = failure(200, { ERROR_CODE: 400, ERROR_MESSAGE: 'Bad Request', 'x-error': hint });
    expect(both).toMatchObject({ zohoCode: '400', status: 200 });
    expect(both.message).toContain(`Bad Request: ${hint}`);
    const alone = failure(200, { 'x-error': hint });
    expect(alone).toBeInstanceOf(ZohoRequestError);
    expect(alone.message).toContain(hint);
  });

  it('takes 400 RESOURCE_NOT_FOUND (an unknown bulk write job, crm-oas v8.0 bulk_write.json) as not found', () => {
    expect(failure(400, flat('RESOURCE_NOT_FOUND'))).toBeInstanceOf(ZohoNotFoundError);
  });

  it.each([
    [429, flat('TOO_MANY_REQUESTS'), ZohoThrottledError],
    [200, flat('TOO_MANY_REQUESTS'), ZohoThrottledError],
    [500, flat('INTERNAL_ERROR'), ZohoServerError],
    [502, '<html>Bad gateway</html>', ZohoServerError],
    [401, flat('INVALID_TOKEN', 'invalid oauth token'), ZohoAuthError],
    [401, flat('OAUTH_SCOPE_MISMATCH'), ZohoAuthError],
    [401, flat('AUTHENTICATION_FAILURE'), ZohoAuthError],
    [404, flat('INVALID_URL_PATTERN'), ZohoNotFoundError],
    [415, flat('INVALID_DATA', 'invalid file type'), ZohoRequestError],
    [415, flat('FILE_SIZE_MORE_THAN_ALLOWED_SIZE'), ZohoRequestError],
    [400, flat('RECORD_LOCKED'), ZohoRequestError],
    [403, flat('NO_PERMISSION'), ZohoRequestError],
    [400, flat('AUTHORIZATION_FAILED'), ZohoRequestError],
    [400, flat('INVALID_FILE_ID'), ZohoRequestError],
    [400, 'not json at all', ZohoProtocolError],
    [200, 'not json at all', ZohoProtocolError],
  ])('%i %j → %o', (status, body, type) => {
    expect(failure(status, body)).toBeInstanceOf(type);
  });

  it('keeps ids beyond 2^53 exact', () => {
    expect(parseJson('{"id":1234567890123456789,"n":12,"f":1.5}')).toEqual({
      id: '1234567890123456789',
      n: 12,
      f: 1.5,
    });
  });
});
