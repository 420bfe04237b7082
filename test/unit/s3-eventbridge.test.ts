/**
 * EventBridge mode: an S3 "Object Created" event that a rule puts on the queue (the shape in the
 * S3 user guide, "EventBridge event message structure") reads as the same object as S3's own
 * notification would give, its key URL-encoded the same way or carried as it is.
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { encodeS3EventKey, parseSqsRecord } from '#lib/s3/event.ts';

const KEY = 'attachments/Leads/5725767000000412001/Devis 1+1 – été.pdf';

function eventBridgeMessage(detailType: string, object: Record<string, unknown>, reason = 'PutObject') {
  return {
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '111122223333',
    time: '2026-11-12T00:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:s3:::crm-drop'],
    detail: {
      version: '0',
      bucket: { name: 'crm-drop' },
      object,
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '111122223333',
      'source-ip-address': '1.2.3.4',
      reason,
    },
  };
}

function record(body: unknown): SQSRecord {
  return { messageId: 'eb-1', body: JSON.stringify(body) } as SQSRecord;
}

describe('an S3 event delivered by EventBridge', () => {
  it('gives the object, its key decoded, its version, eTag, size and sequencer', () => {
    const parsed = parseSqsRecord(
      record(
        eventBridgeMessage(
          'Object Created',
          {
            key: encodeS3EventKey(KEY),
            size: 5,
            etag: 'b1946ac92492d2347c6235b4d2611184',
            'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
            sequencer: '617f08299329d189',
          },
          'CompleteMultipartUpload',
        ),
      ),
    );
    expect(parsed).toEqual({
      objects: [
        {
          bucket: 'crm-drop',
          key: KEY,
          otherKey: encodeS3EventKey(KEY),
          size: 5,
          eTag: 'b1946ac92492d2347c6235b4d2611184',
          versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
          sequencer: '617f08299329d189',
          eventName: 'ObjectCreated:CompleteMultipartUpload',
          eventTime: '2026-11-12T00:00:00Z',
          messageId: 'eb-1',
        },
      ],
    });
  });

  it('reads a key carried as it is too: decoded when it decodes, the key as carried kept to look up', () => {
    const objectOf = (key: string) => {
      const parsed = parseSqsRecord(record(eventBridgeMessage('Object Created', { key, size: 5 })));
      return 'objects' in parsed ? parsed.objects[0] : undefined;
    };
    expect(objectOf('attachments/Leads/1/C++ notes.txt')).toMatchObject({
      key: 'attachments/Leads/1/C   notes.txt',
      otherKey: 'attachments/Leads/1/C++ notes.txt',
    });
    // A % not followed by two hex digits decodes to nothing: the key is read as it is.
    expect(objectOf('attachments/Leads/1/100% sure.txt')).toMatchObject({
      key: 'attachments/Leads/1/100% sure.txt',
    });
    expect(objectOf('attachments/Leads/1/plain.txt')).not.toHaveProperty('otherKey');
  });

  it('skips other S3 events and folder markers, and refuses one without a key', () => {
    expect(
      parseSqsRecord(record(eventBridgeMessage('Object Deleted', { key: 'attachments/x.pdf' }))),
    ).toEqual({
      skip: 'Object Deleted is not an ObjectCreated event',
    });
    expect(
      parseSqsRecord(record(eventBridgeMessage('Object Created', { key: 'attachments/', size: 0 }))),
    ).toEqual({
      skip: 'attachments/ is a folder marker',
    });
    expect(() => parseSqsRecord(record(eventBridgeMessage('Object Created', { size: 3 })))).toThrow(
      /has no s3.bucket.name or s3.object.key/,
    );
  });
});
