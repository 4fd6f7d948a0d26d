// Test data for the emergency-key tests: key lines, S3 event records, and a recording logger.

import { generateKeyPairSync } from 'node:crypto';
import type { Log } from '../../shared/log.ts';

/** Returns a fresh `ssh-ed25519` authorized_keys line with the comment. */
export function ed25519Line(comment: string): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const field = (bytes: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, bytes.length]), bytes]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

export interface RecordOptions {
  eventName?: string;
  bucket?: string;
  /** The key as S3 sends it: form-URL-encoded. */
  encodedKey: string;
  sequencer: string;
  versionId?: string;
  eventTime?: string;
  principalId?: string;
  sourceIp?: string;
  region?: string;
  requestId?: string;
}

/** Builds one S3 event notification record shaped as S3 sends it. */
export function s3Record(options: RecordOptions): Record<string, unknown> {
  const created = (options.eventName ?? 'ObjectCreated:Put').startsWith('ObjectCreated');
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: options.region ?? 'eu-central-1',
    eventTime: options.eventTime ?? '2026-12-01T10:30:00.123Z',
    eventName: options.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: options.principalId ?? 'AWS:AROAEXAMPLEROLE:jane' },
    requestParameters: { sourceIPAddress: options.sourceIp ?? '10.0.12.34' },
    responseElements: { 'x-amz-request-id': options.requestId ?? 'EXAMPLE123', 'x-amz-id-2': 'ZXhhbXBsZQ==' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'emergency-keys',
      bucket: {
        name: options.bucket ?? 'emergency-keys',
        ownerIdentity: { principalId: 'AEXAMPLEOWNER' },
        arn: `arn:aws:s3:::${options.bucket ?? 'emergency-keys'}`,
      },
      object: {
        key: options.encodedKey,
        ...(created && { size: 100, eTag: '9b2cf535f27731c974343645a3985328' }),
        ...(options.versionId !== undefined && { versionId: options.versionId }),
        sequencer: options.sequencer,
      },
    },
  };
}

/** Wraps S3 records or a test event the way an SNS subscription delivers them to Lambda. */
export function snsWrapped(...messages: unknown[]): Record<string, unknown> {
  return {
    Records: messages.map((message) => ({
      EventSource: 'aws:sns',
      EventVersion: '1.0',
      Sns: { Type: 'Notification', MessageId: 'example', Message: JSON.stringify(message) },
    })),
  };
}

export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Record<string, unknown>;
}

/** Creates a Log that keeps every line for assertions. */
export function recordingLog(): Log & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const record =
    (level: LoggedLine['level']) =>
    (message: unknown, ...rest: unknown[]) => {
      const fields = Object.assign({}, ...rest.filter((item) => typeof item === 'object' && item !== null));
      lines.push({ level, message: String(message), fields });
    };
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}
