import { generateKeyPairSync } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlertError } from '../../shared/alerts/alerter.ts';
import { SnsAlerter } from '../../shared/alerts/sns-alerter.ts';
import { parseAuthorizedKey } from '../../shared/bundle/ssh-key.ts';
import { ChangeHistoryStore } from '../../shared/emergency/change-history.ts';
import { readEmergencyKeys } from '../../shared/emergency/emergency-keys.ts';
import { type EmergencyEventDeps, handleEmergencyKeyEvent } from '../../shared/emergency/handle-event.ts';
import { StorageError } from '../../shared/errors.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import {
  closedLoopbackPort,
  createSubscribedQueue,
  drainQueue,
  FAUXQS_REGION,
  type LoopbackFauxqs,
  startLoopbackFauxqs,
} from '../harness/fauxqs.ts';
import { ed25519Line, recordingLog, s3Record, snsWrapped } from './fixtures.ts';

interface ReceivedAlert {
  subject: string;
  message: string;
  severity: string;
}

let fauxqs: LoopbackFauxqs;
let topicArn: string;
let queueUrl: string;
let bucketCount = 0;

beforeAll(async () => {
  fauxqs = await startLoopbackFauxqs();
  ({ topicArn, queueUrl } = await createSubscribedQueue(fauxqs, 'on-call'));
});

afterAll(async () => {
  await fauxqs?.stop();
});

beforeEach(async () => {
  await drainQueue(fauxqs, queueUrl, 0);
});

/** Creates a fresh emergency bucket and history bucket in fauxqs, and the handler's dependencies over them. */
async function setUp(tags: Record<string, Record<string, string>> = {}) {
  bucketCount += 1;
  const bucketName = `emergency-keys-${bucketCount}`;
  const historyBucket = `audit-${bucketCount}`;
  await fauxqs.s3.send(new CreateBucketCommand({ Bucket: bucketName }));
  await fauxqs.s3.send(new CreateBucketCommand({ Bucket: historyBucket }));

  const bucket = new S3ObjectStore({ bucket: bucketName, client: fauxqs.s3 });
  // fauxqs does not implement object tagging; tag reads through the SDK are covered in the S3 store tests.
  vi.spyOn(bucket, 'getTags').mockImplementation(async (key) => tags[key] ?? {});
  const log = recordingLog();
  const requestPublish = vi.fn(async () => {});
  const deps: EmergencyEventDeps = {
    bucketName,
    bucket,
    history: new ChangeHistoryStore(new S3ObjectStore({ bucket: historyBucket, client: fauxqs.s3 }), log),
    alerter: new SnsAlerter(topicArn, fauxqs.sns),
    requestPublish,
    log,
  };
  return { bucketName, bucket, deps, log, requestPublish };
}

/** Receives every alert now in the subscribed queue, as SNS delivered it. */
async function receivedAlerts(): Promise<ReceivedAlert[]> {
  const messages = await drainQueue(fauxqs, queueUrl);
  return messages.map((message) => {
    const notification = JSON.parse(message.Body ?? '{}');
    return {
      subject: notification.Subject,
      message: notification.Message,
      severity: notification.MessageAttributes?.severity?.Value,
    };
  });
}

describe('handleEmergencyKeyEvent', () => {
  it('never copies a private key into the alert', async () => {
    const { bucketName, bucket, deps } = await setUp();
    const privateKey = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    await bucket.put('ops/id_ed25519', privateKey);
    const record = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/id_ed25519',
      sequencer: '00674C3B1F2A9C1D50',
    });

    await handleEmergencyKeyEvent({ Records: [record] }, deps);
    const [alert] = await receivedAlerts();
    const secretLines = privateKey.split('\n').filter((line) => line && !line.startsWith('-----'));
    for (const line of secretLines) expect(alert?.message).not.toContain(line);
    expect(alert?.message).toContain('WARNING: the object contains a PRIVATE KEY');
    expect(alert?.message).toContain('line 2: not shown');
  });

  it('alerts every field of an added file through SNS', async () => {
    const valid = ed25519Line('jane@ops');
    const cutShort = ed25519Line('cut@ops').slice(0, 50);
    const { bucketName, bucket, deps, requestPublish } = await setUp({
      'ops/jane.pub': { reason: 'INC-4711 LDAP outage' },
    });
    await bucket.put('ops/jane.pub', `${valid}\nthis is garbage\n${cutShort}\n`);
    const getVersion = vi.spyOn(bucket, 'getVersion');
    const record = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/jane.pub',
      sequencer: '00674C3B1F2A9C1D42',
      versionId: 'v-EXAMPLE',
      eventTime: '2026-12-01T10:30:00.123Z',
      principalId: 'AWS:AROAEXAMPLEROLE:jane',
      sourceIp: '10.0.12.34',
      region: 'eu-central-1',
      requestId: 'EXAMPLE123',
    });

    const summary = await handleEmergencyKeyEvent({ Records: [record] }, deps);
    const alerts = await receivedAlerts();

    const fingerprint = parseAuthorizedKey(valid).fingerprint;
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert?.subject).toBe('Emergency key added: ops/jane.pub by AWS:AROAEXAMPLEROLE:jane');
    expect(alert?.severity).toBe('critical');
    const lines = alert?.message.split('\n') ?? [];
    expect(lines).toContain('What: added, S3 event ObjectCreated:Put');
    expect(lines).toContain('Who: principal AWS:AROAEXAMPLEROLE:jane, source IP 10.0.12.34');
    expect(lines).toContain('When: 2026-12-01T10:30:00.123Z');
    expect(lines).toContain(
      `Where: bucket ${bucketName}, key "ops/jane.pub", version v-EXAMPLE, region eu-central-1`,
    );
    expect(lines).toContain('Why: "INC-4711 LDAP outage"');
    expect(lines).toContain('Valid keys (1, sent to host classes that admit emergency keys):');
    expect(lines).toContain(`  - ssh-ed25519 ${fingerprint} comment "jane@ops"`);
    expect(lines).toContain('Invalid lines (2, never sent to hosts):');
    expect(
      lines.some((line) => line.startsWith('  - line 2: "this is garbage": the line starts with "this"')),
    ).toBe(true);
    expect(lines.some((line) => line.startsWith(`  - line 3: "${cutShort}": the key data`))).toBe(true);
    expect(lines).toContain('Order: sequencer 00674C3B1F2A9C1D42');
    expect(lines).toContain('S3 request id: EXAMPLE123');

    expect(getVersion).toHaveBeenCalledWith('ops/jane.pub', 'v-EXAMPLE');
    expect(requestPublish).toHaveBeenCalledTimes(1);
    expect(summary).toMatchObject({
      alerted: 1,
      duplicates: 0,
      validKeys: 1,
      noKeysAlert: false,
      publishRequested: true,
    });
    expect((await readEmergencyKeys(bucket)).lines).toEqual([valid]);
  });

  it('reads and names a form-URL-encoded key', async () => {
    const { bucketName, bucket, deps } = await setUp();
    const key = 'break-glass/ops+oncall/root key (2).pub';
    await bucket.put(key, ed25519Line('root@break-glass'));
    const record = s3Record({
      bucket: bucketName,
      encodedKey: 'break-glass/ops%2Boncall/root+key+%282%29.pub',
      sequencer: '01',
    });

    await handleEmergencyKeyEvent(snsWrapped({ Records: [record] }), deps);
    const alerts = await receivedAlerts();

    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toBe(`Emergency key added: ${key} by AWS:AROAEXAMPLEROLE:jane`);
    expect(alerts[0]?.message).toContain(`key "${key}"`);
    expect(alerts[0]?.message).toContain('Valid keys (1,');
    expect(alerts[0]?.message).not.toContain('NoSuchKey');
  });

  it('alerts a delete, an older put and a repeated put once each', async () => {
    const { bucketName, bucket, deps, requestPublish } = await setUp();
    await bucket.put('keep.pub', ed25519Line('keep'));
    await bucket.put('ops/jane.pub', ed25519Line('jane'));
    await bucket.delete('ops/jane.pub');
    const put = s3Record({ bucket: bucketName, encodedKey: 'ops/jane.pub', sequencer: '0055' });
    const remove = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/jane.pub',
      sequencer: '005A',
      eventName: 'ObjectRemoved:Delete',
    });

    // S3 delivers the delete first, then the put it overtook, then the put again.
    const summaries = [];
    for (const record of [remove, put, put])
      summaries.push(await handleEmergencyKeyEvent({ Records: [record] }, deps));
    const alerts = await receivedAlerts();

    const added = alerts.filter((alert) => alert.subject.startsWith('Emergency key added: ops/jane.pub'));
    const removed = alerts.filter((alert) => alert.subject.startsWith('Emergency key removed: ops/jane.pub'));
    expect(added).toHaveLength(1);
    expect(removed).toHaveLength(1);
    expect(alerts).toHaveLength(2);
    expect(added[0]?.message).toContain(
      'Order: sequencer 0055, delivered after a later removal (sequencer 005A), which decides the current state',
    );
    expect(summaries.map((summary) => [summary.alerted, summary.duplicates])).toEqual([
      [1, 0],
      [1, 0],
      [0, 1],
    ]);
    expect(requestPublish).toHaveBeenCalledTimes(2);
    const current = await readEmergencyKeys(bucket);
    expect(current.keys.map((entry) => entry.objectKey)).toEqual(['keep.pub']);
  });

  it('alerts each change once when the reordered events share one batch', async () => {
    const { bucketName, bucket, deps } = await setUp();
    await bucket.put('keep.pub', ed25519Line('keep'));
    const put = s3Record({ bucket: bucketName, encodedKey: 'ops/jane.pub', sequencer: '0055' });
    const remove = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/jane.pub',
      sequencer: '005A',
      eventName: 'ObjectRemoved:Delete',
    });

    const summary = await handleEmergencyKeyEvent({ Records: [remove, put, put] }, deps);
    const alerts = await receivedAlerts();

    expect(alerts.map((alert) => alert.subject.split(':')[0])).toEqual([
      'Emergency key added',
      'Emergency key removed',
    ]);
    expect(summary).toMatchObject({ alerted: 2, duplicates: 1 });
  });

  it('names a second write a replacement and lists what a removal took away', async () => {
    const { bucketName, bucket, deps } = await setUp();
    await bucket.put('keep.pub', ed25519Line('keep'));
    const second = ed25519Line('second');
    await bucket.put('ops/jane.pub', ed25519Line('first'));
    await handleEmergencyKeyEvent(
      { Records: [s3Record({ bucket: bucketName, encodedKey: 'ops/jane.pub', sequencer: '01' })] },
      deps,
    );
    await bucket.put('ops/jane.pub', second);
    await handleEmergencyKeyEvent(
      { Records: [s3Record({ bucket: bucketName, encodedKey: 'ops/jane.pub', sequencer: '02' })] },
      deps,
    );
    await bucket.delete('ops/jane.pub');
    const removal = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/jane.pub',
      sequencer: '03',
      eventName: 'ObjectRemoved:Delete',
    });
    await handleEmergencyKeyEvent({ Records: [removal] }, deps);

    const alerts = await receivedAlerts();

    expect(alerts.map((alert) => alert.subject.split(':')[0])).toEqual([
      'Emergency key added',
      'Emergency key replaced',
      'Emergency key removed',
    ]);
    expect(alerts[2]?.severity).toBe('warning');
    expect(alerts[2]?.message).toContain(
      `Removed keys (1, as last read):\n  - ${parseAuthorizedKey(second).fingerprint}`,
    );
  });

  it('sends a critical alert when the last key is removed', async () => {
    const { bucketName, bucket, deps } = await setUp();
    await bucket.put('ops/jane.pub', ed25519Line('jane'));
    await bucket.delete('ops/jane.pub');
    const removal = s3Record({
      bucket: bucketName,
      encodedKey: 'ops/jane.pub',
      sequencer: '07',
      eventName: 'ObjectRemoved:Delete',
      principalId: 'AWS:AROAEXAMPLEROLE:mallory',
    });

    const summary = await handleEmergencyKeyEvent({ Records: [removal] }, deps);
    const alerts = await receivedAlerts();

    expect(alerts).toHaveLength(2);
    const noKeys = alerts[1];
    expect(noKeys?.subject).toBe(
      'No emergency keys left after ops/jane.pub was changed by AWS:AROAEXAMPLEROLE:mallory',
    );
    expect(noKeys?.severity).toBe('critical');
    expect(noKeys?.message).toContain('no host class has a break-glass login any more');
    expect(noKeys?.message).toContain(`Bucket: ${bucketName}, 0 objects, 0 invalid lines`);
    expect(noKeys?.message).toContain('Last change: removed "ops/jane.pub"');
    expect(noKeys?.message).toContain('Who: principal AWS:AROAEXAMPLEROLE:mallory, source IP 10.0.12.34');
    expect(summary).toMatchObject({ validKeys: 0, noKeysAlert: true });
  });

  it('fails, logs why and loses no alert while SNS is unreachable', async () => {
    const { bucketName, bucket, deps, log, requestPublish } = await setUp();
    await bucket.put('ops/jane.pub', ed25519Line('jane'));
    const unreachable = new SNSClient({
      endpoint: `http://127.0.0.1:${await closedLoopbackPort()}`,
      region: FAUXQS_REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const event = {
      Records: [s3Record({ bucket: bucketName, encodedKey: 'ops/jane.pub', sequencer: '01' })],
    };

    try {
      await expect(
        handleEmergencyKeyEvent(event, { ...deps, alerter: new SnsAlerter(topicArn, unreachable) }),
      ).rejects.toThrow(AlertError);
    } finally {
      unreachable.destroy();
    }

    const failure = log.lines.find((line) => line.level === 'error');
    expect(failure?.message).toBe('emergency key event failed, so Lambda retries it');
    expect(failure?.fields.reason).toBe(`publishing an alert to SNS topic ${topicArn} failed`);
    expect(String(failure?.fields.cause)).toMatch(/ECONNREFUSED/);
    expect(requestPublish).not.toHaveBeenCalled();

    // Lambda's retry, with SNS back, still sends the alert.
    await handleEmergencyKeyEvent(event, deps);
    const alerts = await receivedAlerts();
    expect(alerts.map((alert) => alert.subject)).toEqual([
      'Emergency key added: ops/jane.pub by AWS:AROAEXAMPLEROLE:jane',
    ]);
  });

  it('ignores test events and other buckets without a publish', async () => {
    const { bucketName, deps, requestPublish } = await setUp();
    const testEvent = { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucketName };
    const other = s3Record({ bucket: 'someone-elses-bucket', encodedKey: 'x.pub', sequencer: '01' });

    const summary = await handleEmergencyKeyEvent(snsWrapped(testEvent, { Records: [other] }), deps);

    expect(summary).toMatchObject({ alerted: 0, ignored: 2, publishRequested: false });
    expect(requestPublish).not.toHaveBeenCalled();
    expect(await receivedAlerts()).toEqual([]);
  });

  it('still alerts when the object or its tags cannot be read', async () => {
    const { bucketName, bucket, deps } = await setUp();
    await bucket.put('a.pub', ed25519Line('a'));
    await bucket.put('b.pub', ed25519Line('b'));
    vi.spyOn(bucket, 'getVersion').mockImplementation(async (key) => {
      if (key === 'a.pub') throw new StorageError(`reading a.pub from s3://${bucketName} failed`);
      return bucket.get(key);
    });
    vi.spyOn(bucket, 'getTags').mockRejectedValue(new StorageError('reading the tags of b.pub failed'));
    const records = [
      s3Record({ bucket: bucketName, encodedKey: 'a.pub', sequencer: '01' }),
      s3Record({ bucket: bucketName, encodedKey: 'b.pub', sequencer: '01' }),
    ];

    await handleEmergencyKeyEvent({ Records: records }, deps);
    const alerts = await receivedAlerts();

    expect(alerts).toHaveLength(2);
    expect(alerts[0]?.message).toContain(
      `Keys: unknown, because reading the object failed: reading a.pub from s3://${bucketName} failed`,
    );
    expect(alerts[0]?.message).toContain('Why: unknown, because the object could not be read for its tags');
    expect(alerts[1]?.message).toContain(
      "Why: unknown, because reading the object's tags failed: reading the tags of b.pub failed",
    );
    expect(alerts[1]?.message).toContain('Valid keys (1,');
  });

  it('escapes control characters that could forge alert lines', async () => {
    const { bucketName, bucket, deps } = await setUp();
    const key = 'ops/x.pub\nWho: principal root';
    await bucket.put(key, ed25519Line('x'));
    const record = s3Record({ bucket: bucketName, encodedKey: encodeURIComponent(key), sequencer: '01' });

    await handleEmergencyKeyEvent({ Records: [record] }, deps);
    const [alert] = await receivedAlerts();

    expect(alert?.message.split('\n').filter((line) => line.startsWith('Who:'))).toEqual([
      'Who: principal AWS:AROAEXAMPLEROLE:jane, source IP 10.0.12.34',
    ]);
    expect(alert?.message).toContain('key "ops/x.pub\\u000aWho: principal root"');
    expect(alert?.subject).not.toContain('\n');
  });
});
