import { describe, expect, it } from 'vitest';
import { compareSequencers, parseNotification } from '../../shared/emergency/s3-notification.ts';
import { recordingLog, s3Record, snsWrapped } from './fixtures.ts';

const BUCKET = 'emergency-keys';
const TEST_EVENT = {
  Service: 'Amazon S3',
  Event: 's3:TestEvent',
  Time: '2026-12-01T09:00:00.000Z',
  Bucket: BUCKET,
  RequestId: 'EXAMPLEREQ',
  HostId: 'ZXhhbXBsZQ==',
};

describe('parseNotification', () => {
  it('reads records delivered directly', () => {
    const event = { Records: [s3Record({ encodedKey: 'ops/jane.pub', sequencer: '00AB', versionId: 'v1' })] };

    const { changes, ignored, malformed } = parseNotification(event, BUCKET, recordingLog());

    expect(ignored).toBe(0);
    expect(malformed).toBe(0);
    expect(changes).toEqual([
      {
        kind: 'created',
        eventName: 'ObjectCreated:Put',
        bucket: BUCKET,
        key: 'ops/jane.pub',
        versionId: 'v1',
        sequencer: '00AB',
        eventTime: '2026-12-01T10:30:00.123Z',
        region: 'eu-central-1',
        principalId: 'AWS:AROAEXAMPLEROLE:jane',
        sourceIp: '10.0.12.34',
        requestId: 'EXAMPLE123',
      },
    ]);
  });

  it('reads records wrapped in SNS messages', () => {
    const event = snsWrapped(
      { Records: [s3Record({ encodedKey: 'a.pub', sequencer: '01' })] },
      { Records: [s3Record({ encodedKey: 'b.pub', sequencer: '02', eventName: 'ObjectRemoved:Delete' })] },
    );

    const { changes } = parseNotification(event, BUCKET, recordingLog());

    expect(changes.map((change) => [change.key, change.kind])).toEqual([
      ['a.pub', 'created'],
      ['b.pub', 'removed'],
    ]);
  });

  // The key from the acceptance list: `%2B` is a literal plus, `+` a space, `%28`/`%29` parentheses.
  it('decodes form-URL-encoded object keys', () => {
    const event = {
      Records: [s3Record({ encodedKey: 'break-glass/ops%2Boncall/root+key+%282%29.pub', sequencer: '01' })],
    };

    const { changes } = parseNotification(event, BUCKET, recordingLog());

    expect(changes[0]?.key).toBe('break-glass/ops+oncall/root key (2).pub');
  });

  it.each([
    ['directly', TEST_EVENT],
    ['through SNS', snsWrapped(TEST_EVENT)],
  ])('ignores an S3 test event delivered %s', (_how, event) => {
    const log = recordingLog();

    const result = parseNotification(event, BUCKET, log);

    expect(result).toEqual({ changes: [], ignored: 1, malformed: 0 });
    expect(log.lines).toContainEqual({
      level: 'info',
      message: 'S3 test event ignored',
      fields: { bucket: BUCKET },
    });
  });

  it('ignores records of another bucket with a log line', () => {
    const log = recordingLog();
    const event = { Records: [s3Record({ encodedKey: 'x.pub', sequencer: '01', bucket: 'other-bucket' })] };

    const result = parseNotification(event, BUCKET, log);

    expect(result).toEqual({ changes: [], ignored: 1, malformed: 0 });
    expect(log.lines[0]?.message).toBe('S3 record of another bucket ignored');
    expect(log.lines[0]?.fields).toEqual({ bucket: 'other-bucket', expected: BUCKET });
  });

  it.each([
    ['ObjectCreated:Copy', 'created'],
    ['ObjectCreated:CompleteMultipartUpload', 'created'],
    ['ObjectRemoved:DeleteMarkerCreated', 'removed'],
    ['LifecycleExpiration:Delete', 'removed'],
  ])('reads %s as %s', (eventName, kind) => {
    const event = { Records: [s3Record({ encodedKey: 'x.pub', sequencer: '01', eventName })] };

    expect(parseNotification(event, BUCKET, recordingLog()).changes[0]?.kind).toBe(kind);
  });

  it('ignores other event types', () => {
    const event = {
      Records: [s3Record({ encodedKey: 'x.pub', sequencer: '01', eventName: 'ObjectTagging:Put' })],
    };

    expect(parseNotification(event, BUCKET, recordingLog())).toEqual({
      changes: [],
      ignored: 1,
      malformed: 0,
    });
  });

  it('skips malformed records and keeps the rest', () => {
    const log = recordingLog();
    const noSequencer = s3Record({ encodedKey: 'a.pub', sequencer: '01' });
    (noSequencer.s3 as { object: Record<string, unknown> }).object.sequencer = undefined;
    const badVersion = { ...s3Record({ encodedKey: 'b.pub', sequencer: '02' }), eventVersion: '3.0' };
    const badPercent = s3Record({ encodedKey: 'c%ZZ.pub', sequencer: '03' });
    const good = s3Record({ encodedKey: 'd.pub', sequencer: '04' });

    const result = parseNotification({ Records: [noSequencer, badVersion, badPercent, good] }, BUCKET, log);

    expect(result.changes.map((change) => change.key)).toEqual(['d.pub']);
    expect(result.malformed).toBe(3);
    expect(log.lines.filter((line) => line.level === 'error')).toHaveLength(3);
  });

  it('counts an event without records as malformed', () => {
    expect(parseNotification({ hello: 'world' }, BUCKET, recordingLog())).toEqual({
      changes: [],
      ignored: 0,
      malformed: 1,
    });
  });

  it('counts an SNS message that is not JSON as malformed', () => {
    const event = { Records: [{ EventSource: 'aws:sns', Sns: { Message: 'not json' } }] };

    expect(parseNotification(event, BUCKET, recordingLog())).toEqual({
      changes: [],
      ignored: 0,
      malformed: 1,
    });
  });
});

describe('compareSequencers', () => {
  it.each([
    ['00AB', '00AB', 0],
    ['00ab', '00AB', 0],
    ['00AB', '00AC', -1],
    ['00AC', '00AB', 1],
    // Right-padding makes `0A` into `0A0` beside `0A1`, so it is earlier. Left-padding would make it `00A`, and later.
    ['0A', '0A1', -1],
    ['0A', '0A0', 0],
    ['00674C3B1F2A9C1D42', '00674C3B1F2A9C1D4200', 0],
    ['00674C3B1F2A9C1D43', '00674C3B1F2A9C1D42FF', 1],
  ])('compares %s with %s as %i', (a, b, expected) => {
    expect(Math.sign(compareSequencers(a, b))).toBe(expected);
  });
});
