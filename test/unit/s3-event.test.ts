import type { S3Event, S3EventRecord, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  decodeS3EventKey,
  encodeS3EventKey,
  FOLLOW_UP_KIND,
  parseS3Event,
  parseSqsRecord,
  S3EventError,
} from '#lib/s3/event.ts';

function s3Record(
  rawKey: string,
  overrides: { eventName?: string; size?: number; versionId?: string } = {},
): S3EventRecord {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2026-11-23T10:00:00.000Z',
    eventName: overrides.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'EXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'REQ', 'x-amz-id-2': 'HOST' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'attachments',
      bucket: { name: 'inbox', ownerIdentity: { principalId: 'EXAMPLE' }, arn: 'arn:aws:s3:::inbox' },
      object: {
        key: rawKey,
        size: overrides.size ?? 1024,
        eTag: '0123456789abcdef0123456789abcdef',
        sequencer: '0A1B2C3D4E5F678901',
        ...(overrides.versionId ? { versionId: overrides.versionId } : {}),
      },
    },
  };
}

function s3Event(...records: S3EventRecord[]): S3Event {
  return { Records: records };
}

function sqsRecord(body: unknown, messageId = 'msg-1'): SQSRecord {
  return {
    messageId,
    receiptHandle: 'handle',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1700000000000',
      SenderId: 'S3',
      ApproximateFirstReceiveTimestamp: '1700000000000',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:attachments',
    awsRegion: 'us-east-1',
  };
}

function thrown(run: () => unknown): S3EventError {
  try {
    run();
  } catch (error) {
    if (error instanceof S3EventError) return error;
    throw error;
  }
  throw new Error('expected an S3EventError');
}

describe('decodeS3EventKey', () => {
  it.each([
    ['attachments/Leads/123/report.pdf', 'attachments/Leads/123/report.pdf'],
    ['attachments/Leads/123/red+flower.jpg', 'attachments/Leads/123/red flower.jpg'],
    ['attachments/Leads/123/a%2Bb.txt', 'attachments/Leads/123/a+b.txt'],
    ['attachments/Leads/123/a%2B+b.txt', 'attachments/Leads/123/a+ b.txt'],
    [
      'attachments/Leads/123/R%C3%A9sum%C3%A9+%E6%9D%B1%E4%BA%AC.pdf',
      'attachments/Leads/123/Résumé 東京.pdf',
    ],
    ['attachments/Leads/123/%F0%9F%93%8E+clip.png', 'attachments/Leads/123/📎 clip.png'],
    ['attachments/Leads/123/100%25+done.txt', 'attachments/Leads/123/100% done.txt'],
    ['attachments/Leads/123/a%40b%3Dc%3A.txt', 'attachments/Leads/123/a@b=c:.txt'],
  ])('decodes %s', (raw, key) => {
    expect(decodeS3EventKey(raw)).toBe(key);
  });

  it('decodes encoded slashes into separators: the decoded key is the object the event names', () => {
    expect(decodeS3EventKey('attachments%2FLeads%2F..%2Fx')).toBe('attachments/Leads/../x');
  });

  it.each(['a%ZZ.txt', 'a%.txt', 'trailing%2', '%C3', '%FF%FE'])(
    'refuses broken encoding in %s with a clear error',
    (raw) => {
      const error = thrown(() => decodeS3EventKey(raw));
      expect(error.code).toBe('INVALID_KEY_ENCODING');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(raw);
    },
  );
});

describe('encodeS3EventKey', () => {
  it('encodes as S3 does in notifications: form encoding, spaces as +, slashes kept', () => {
    expect(encodeS3EventKey('attachments/Leads/123/red flower.jpg')).toBe(
      'attachments/Leads/123/red+flower.jpg',
    );
    expect(encodeS3EventKey('a@b')).toBe('a%40b');
    expect(encodeS3EventKey('a+b')).toBe('a%2Bb');
    expect(encodeS3EventKey('dt=2026-11-23/x:y')).toBe('dt%3D2026-11-23/x%3Ay');
    expect(encodeS3EventKey('keep-these_.*/AZaz09')).toBe('keep-these_.*/AZaz09');
    expect(encodeS3EventKey("(1) it's ~100%")).toBe('%281%29+it%27s+%7E100%25');
    expect(encodeS3EventKey('Résumé 東京.pdf')).toBe('R%C3%A9sum%C3%A9+%E6%9D%B1%E4%BA%AC.pdf');
    expect(encodeS3EventKey('📎')).toBe('%F0%9F%93%8E');
  });

  it.each([
    'attachments/Leads/123/Résumé 東京.pdf',
    'photos/Contacts/1/😀 a+b=c & d?.png',
    "x/%2F/%25/+/ /~!*'()[]{}",
    'tab\tnew\nline',
  ])('round-trips %j', (key) => {
    expect(decodeS3EventKey(encodeS3EventKey(key))).toBe(key);
  });
});

describe('parseS3Event', () => {
  it('turns each ObjectCreated record into an object with its key decoded and its version carried on', () => {
    const objects = parseS3Event(
      s3Event(s3Record('attachments/Leads/123/red+flower.jpg', { versionId: 'v1' })),
    );
    expect(objects).toEqual([
      {
        bucket: 'inbox',
        key: 'attachments/Leads/123/red flower.jpg',
        size: 1024,
        eTag: '0123456789abcdef0123456789abcdef',
        versionId: 'v1',
        sequencer: '0A1B2C3D4E5F678901',
        eventName: 'ObjectCreated:Put',
        eventTime: '2026-11-23T10:00:00.000Z',
      },
    ]);
    expect(objects[0]).not.toHaveProperty('messageId');
  });

  it('has no versionId when the bucket is not versioned', () => {
    const [object] = parseS3Event(s3Event(s3Record('attachments/Leads/1/a.txt')));
    expect(object?.versionId).toBeUndefined();
  });

  it('skips folder markers, deletions and other events', () => {
    const objects = parseS3Event(
      s3Event(
        s3Record('attachments/Leads/123/', { size: 0 }),
        s3Record('attachments/Leads/123/gone.txt', { eventName: 'ObjectRemoved:Delete' }),
        s3Record('attachments/Leads/123/tags.txt', { eventName: 'ObjectTagging:Put' }),
        s3Record('attachments/Leads/123/kept.txt', { eventName: 'ObjectCreated:CompleteMultipartUpload' }),
      ),
    );
    expect(objects.map((o) => o.key)).toEqual(['attachments/Leads/123/kept.txt']);
  });

  it('throws on a record with a broken key', () => {
    const event = s3Event(
      s3Record('attachments/Leads/1/bad%ZZ.txt'),
      s3Record('attachments/Leads/1/good.txt'),
    );
    expect(thrown(() => parseS3Event(event)).code).toBe('INVALID_KEY_ENCODING');
  });

  it('refuses a record without bucket or key', () => {
    const record = s3Record('x');
    const broken = { ...record, s3: { ...record.s3, object: { ...record.s3.object, key: '' } } };
    expect(thrown(() => parseS3Event(s3Event(broken))).code).toBe('INVALID_EVENT');
  });
});

describe('parseSqsRecord', () => {
  it('reads the S3 event in the body and names the SQS message', () => {
    const parsed = parseSqsRecord(sqsRecord(s3Event(s3Record('photos/Leads/42.png')), 'm-42'));
    expect(parsed).toEqual({
      objects: [expect.objectContaining({ key: 'photos/Leads/42.png', bucket: 'inbox', messageId: 'm-42' })],
    });
  });

  it("skips S3's test event quietly", () => {
    const parsed = parseSqsRecord(
      sqsRecord({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2026-11-23T10:00:00.000Z',
        Bucket: 'inbox',
        RequestId: 'REQ',
        HostId: 'HOST',
      }),
    );
    expect(parsed).toEqual({ skip: expect.stringContaining('test event') });
  });

  it('hands back our own follow-up messages', () => {
    const payload = { bucket: 'inbox', key: 'bulk-write/Leads/insert/a.zip' };
    expect(parseSqsRecord(sqsRecord({ kind: FOLLOW_UP_KIND, payload }))).toEqual({
      followUp: { kind: 's3-to-zoho/follow-up', payload },
    });
  });

  it('skips a message whose only record is a folder marker or not a creation', () => {
    expect(parseSqsRecord(sqsRecord(s3Event(s3Record('attachments/', { size: 0 }))))).toEqual({
      skip: expect.stringContaining('folder marker'),
    });
    expect(
      parseSqsRecord(sqsRecord(s3Event(s3Record('attachments/x', { eventName: 'ObjectRemoved:Delete' })))),
    ).toEqual({ skip: expect.stringContaining('ObjectRemoved:Delete') });
  });

  it('unwraps an S3 event that came through SNS', () => {
    const body = {
      Type: 'Notification',
      MessageId: 'sns-1',
      Message: JSON.stringify(s3Event(s3Record('a/b+c'))),
    };
    expect(parseSqsRecord(sqsRecord(body))).toEqual({ objects: [expect.objectContaining({ key: 'a/b c' })] });
  });

  it('fails only the message that cannot be read, saying why', () => {
    expect(thrown(() => parseSqsRecord(sqsRecord('not json', 'm-bad'))).message).toContain('m-bad');
    expect(thrown(() => parseSqsRecord(sqsRecord({ hello: 'world' }))).code).toBe('INVALID_EVENT');
    const broken = thrown(() =>
      parseSqsRecord(sqsRecord(s3Event(s3Record('attachments/Leads/1/%E0%A4%A.txt')))),
    );
    expect(broken.code).toBe('INVALID_KEY_ENCODING');
  });
});
