import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { followUpMessage, followUpOf, parseFollowUp, sqsFollowUps } from '#lib/pipeline/bulk/follow-up.ts';
import { parseSqsRecord } from '#lib/s3/event.ts';
import { toSqsRecord } from '#tools/local/event-source.ts';
import { createLocalQueue } from '#tools/local/queue.ts';
import { S3RVER_CREDENTIALS } from '#tools/local/s3.ts';
import { startSqsEndpoint } from '#tools/local/sqs-endpoint.ts';

describe('the follow-up message', () => {
  it('asks for a look at the version the save of this state makes', () => {
    expect(followUpOf({ write: 'inbox/a.zip#v1', attempt: 2, version: 7 })).toEqual({
      write: 'inbox/a.zip#v1',
      attempt: 2,
      version: 8,
    });
  });

  it('is read back as the queue reader tells it from S3 events, and its payload as it was sent', () => {
    const payload = { write: 'inbox/a.zip#v1', attempt: 1, version: 2 };
    const body = JSON.stringify(followUpMessage(payload));
    const record = toSqsRecord(
      {
        messageId: 'm1',
        receiptHandle: 'r1',
        body,
        md5OfBody: '',
        receiveCount: 1,
        sentTimestamp: 0,
        firstReceiveTimestamp: 0,
      },
      'arn:aws:sqs:us-east-1:000000000000:s3-to-zoho-bulk-write',
    );
    const parsed = parseSqsRecord(record);
    expect('followUp' in parsed && parseFollowUp(parsed.followUp.payload)).toEqual(payload);
  });

  it('says why a payload is not one of ours', () => {
    expect(parseFollowUp('x')).toBe('the payload is not an object');
    expect(parseFollowUp({ write: '', attempt: 1, version: 1 })).toBe('no write id');
    expect(parseFollowUp({ write: 'w', attempt: 0, version: 1 })).toBe('no attempt');
    expect(parseFollowUp({ write: 'w', attempt: 1, version: 1.5 })).toBe('no version');
  });

  it('is sent delayed onto the queue (a local SQS endpoint), and not at all without one', async () => {
    const queue = createLocalQueue({ name: 's3-to-zoho-bulk-write' });
    const endpoint = await startSqsEndpoint({ queues: [queue] });
    try {
      const sqs = new SQSClient({
        region: 'us-east-1',
        endpoint: endpoint.url,
        credentials: S3RVER_CREDENTIALS,
      });
      const payload = { write: 'w', attempt: 1, version: 2 };
      await sqsFollowUps(sqs, endpoint.queueUrl(queue.name), 60)(payload);
      expect(queue.counts()).toMatchObject({ visible: 0, delayed: 1 });
      await expect(sqsFollowUps(sqs, undefined, 60)(payload)).rejects.toThrow('FOLLOW_UP_QUEUE_URL');
    } finally {
      queue.close();
      await endpoint.close();
    }
  });
});
