// S3 event notifications for the emergency-key bucket: unwrapped from SNS, validated, keys decoded.

import { z } from 'zod';
import type { Log } from '../log.ts';
import { decodeS3Key } from '../s3-events.ts';

/** One object change in the emergency-key bucket, as S3 reported it. */
export interface ObjectChange {
  kind: 'created' | 'removed';
  /** The S3 event name without the `s3:` prefix, e.g. `ObjectCreated:Put`. */
  eventName: string;
  bucket: string;
  /** The object key, decoded from the event's form-URL encoding. */
  key: string;
  versionId?: string;
  /** Hex string that orders the events of one key: compare with compareSequencers. */
  sequencer: string;
  /** When S3 finished the request, ISO 8601. */
  eventTime: string;
  region: string;
  /** IAM unique id of the caller, e.g. `AWS:AROAEXAMPLE:session-name`, or `unknown`. */
  principalId: string;
  sourceIp: string;
  requestId?: string;
}

export interface ParsedNotification {
  changes: ObjectChange[];
  /** Test events, records of other buckets and event types other than created or removed. */
  ignored: number;
  /** Records that failed validation, each logged as an error. */
  malformed: number;
}

const snsEnvelopeSchema = z.object({
  Records: z
    .array(z.object({ EventSource: z.literal('aws:sns'), Sns: z.object({ Message: z.string() }) }))
    .min(1),
});

const testEventSchema = z.object({ Event: z.literal('s3:TestEvent'), Bucket: z.string().optional() });

const s3RecordSchema = z.object({
  eventVersion: z.string().regex(/^2\.\d+$/, 'expected event version 2.x'),
  eventSource: z.literal('aws:s3'),
  awsRegion: z.string(),
  eventTime: z.string(),
  eventName: z.string(),
  userIdentity: z.object({ principalId: z.string() }).optional(),
  requestParameters: z.object({ sourceIPAddress: z.string() }).optional(),
  responseElements: z.object({ 'x-amz-request-id': z.string().optional() }).optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      versionId: z.string().optional(),
      sequencer: z.string().regex(/^[0-9A-Fa-f]+$/, 'expected a hex sequencer'),
    }),
  }),
});

type S3Record = z.infer<typeof s3RecordSchema>;

/**
 * Extracts the emergency bucket's object changes from a Lambda event: S3 records delivered directly or
 * wrapped in SNS messages. Test events, other buckets and other event types are logged and ignored.
 * Malformed records are logged as errors and skipped, because retrying cannot repair them.
 */
export function parseNotification(event: unknown, bucket: string, log: Log): ParsedNotification {
  const result: ParsedNotification = { changes: [], ignored: 0, malformed: 0 };
  for (const message of unwrapSns(event, log, result)) {
    const test = testEventSchema.safeParse(message);
    if (test.success) {
      log.info('S3 test event ignored', { bucket: test.data.Bucket });
      result.ignored += 1;
      continue;
    }
    const records = (message as { Records?: unknown })?.Records;
    if (!Array.isArray(records)) {
      log.error('event without S3 records skipped');
      result.malformed += 1;
      continue;
    }
    for (const record of records) addRecord(record, bucket, log, result);
  }
  return result;
}

/** Compares two sequencers of the same key: negative when `a` is earlier. The shorter is right-padded with `0`s. */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padEnd(width, '0');
  const right = b.toUpperCase().padEnd(width, '0');
  if (left === right) return 0;
  return left < right ? -1 : 1;
}

/** Returns the S3 messages of the event: the event itself, or the parsed message of each SNS record. */
function unwrapSns(event: unknown, log: Log, result: ParsedNotification): unknown[] {
  const envelope = snsEnvelopeSchema.safeParse(event);
  if (!envelope.success) return [event];

  const messages: unknown[] = [];
  for (const record of envelope.data.Records) {
    try {
      messages.push(JSON.parse(record.Sns.Message));
    } catch {
      log.error('SNS message that is not JSON skipped');
      result.malformed += 1;
    }
  }
  return messages;
}

function addRecord(raw: unknown, bucket: string, log: Log, result: ParsedNotification): void {
  const parsed = s3RecordSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    log.error('malformed S3 record skipped', { field: issue?.path.join('.'), problem: issue?.message });
    result.malformed += 1;
    return;
  }
  const record = parsed.data;
  if (record.s3.bucket.name !== bucket) {
    log.info('S3 record of another bucket ignored', { bucket: record.s3.bucket.name, expected: bucket });
    result.ignored += 1;
    return;
  }
  const kind = changeKind(record.eventName);
  if (!kind) {
    log.info('S3 event type ignored', { eventName: record.eventName });
    result.ignored += 1;
    return;
  }
  let key: string;
  try {
    key = decodeS3Key(record.s3.object.key);
  } catch {
    log.error('S3 record with an undecodable object key skipped', { encodedKey: record.s3.object.key });
    result.malformed += 1;
    return;
  }
  result.changes.push(toChange(record, kind, key));
}

/** Lifecycle expirations remove objects too, though they are not ObjectRemoved events. */
function changeKind(eventName: string): ObjectChange['kind'] | undefined {
  if (eventName.startsWith('ObjectCreated:')) return 'created';
  if (eventName.startsWith('ObjectRemoved:') || eventName.startsWith('LifecycleExpiration:'))
    return 'removed';
  return undefined;
}

function toChange(record: S3Record, kind: ObjectChange['kind'], key: string): ObjectChange {
  const versionId = record.s3.object.versionId;
  const requestId = record.responseElements?.['x-amz-request-id'];
  return {
    kind,
    eventName: record.eventName,
    bucket: record.s3.bucket.name,
    key,
    ...(versionId !== undefined && { versionId }),
    sequencer: record.s3.object.sequencer.toUpperCase(),
    eventTime: record.eventTime,
    region: record.awsRegion,
    principalId: record.userIdentity?.principalId ?? 'unknown',
    sourceIp: record.requestParameters?.sourceIPAddress ?? 'unknown',
    ...(requestId !== undefined && { requestId }),
  };
}
