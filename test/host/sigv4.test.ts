// The agent's SigV4 signer against signatures that the AWS SDK's own signer computes for the same
// request, credentials and time.

import { describe, expect, it } from 'vitest';
import { type AwsCredentials, EMPTY_BODY_SHA256, encodeKeyPath, signRequest } from '../../host/sigv4.ts';
import { signWithSdk } from './aws-sdk-signer.ts';

const KEYS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SESSION: AwsCredentials = { ...KEYS, sessionToken: 'session/token+with=odd chars' };

const CASES: {
  name: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  credentials: AwsCredentials;
  region: string;
  date: string;
}[] = [
  {
    name: 'virtual-hosted manifest',
    host: 'fleet-login-bundles.s3.eu-west-1.amazonaws.com',
    path: '/manifests/general.json',
    headers: {},
    credentials: KEYS,
    region: 'eu-west-1',
    date: '2026-12-04T21:15:00.000Z',
  },
  {
    name: 'conditional GET with a session token',
    host: 'fleet-login-bundles.s3.us-east-1.amazonaws.com',
    path: '/manifests/prod-admin.json',
    headers: { 'If-None-Match': '"0f343b0931126a20f133d67c2b018a3b"' },
    credentials: SESSION,
    region: 'us-east-1',
    date: '2027-01-01T00:00:59.999Z',
  },
  {
    name: 'path style with a port',
    host: '127.0.0.1:4566',
    path: '/fleet-login-bundles/files/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    headers: {},
    credentials: SESSION,
    region: 'ap-southeast-2',
    date: '2026-02-28T23:59:59.000Z',
  },
  {
    name: 'key with reserved characters',
    host: 's3.cn-north-1.amazonaws.com.cn',
    path: `/bucket/${encodeKeyPath("a b/(c)!*'+=é.json")}`,
    headers: {},
    credentials: KEYS,
    region: 'cn-north-1',
    date: '2026-06-15T12:00:00.000Z',
  },
];

describe('signRequest', () => {
  it.each(CASES)('matches the AWS SDK signer for $name', async (testCase) => {
    const now = new Date(testCase.date);
    const ours = signRequest(
      { method: 'GET', host: testCase.host, path: testCase.path, headers: testCase.headers },
      testCase.credentials,
      { region: testCase.region, service: 's3' },
      now,
    );

    const [hostname, port] = testCase.host.split(':');
    const expected = await signWithSdk(
      {
        hostname: hostname ?? '',
        ...(port !== undefined && { port: Number(port) }),
        path: testCase.path,
        headers: { host: testCase.host, ...testCase.headers },
      },
      testCase.credentials,
      testCase.region,
      now,
    );

    expect(ours.authorization).toBe(expected.authorization);
    expect(ours['x-amz-date']).toBe(expected['x-amz-date']);
    expect(ours['x-amz-content-sha256']).toBe(expected['x-amz-content-sha256']);
    expect(ours['x-amz-security-token']).toBe(expected['x-amz-security-token']);
  });

  it('changes the signature when the secret differs', () => {
    const request = { method: 'GET', host: 'b.s3.eu-west-1.amazonaws.com', path: '/k', headers: {} };
    const scope = { region: 'eu-west-1', service: 's3' };
    const now = new Date('2026-12-04T00:00:00Z');

    const first = signRequest(request, KEYS, scope, now);
    const second = signRequest(request, { ...KEYS, secretAccessKey: 'other' }, scope, now);

    expect(first.authorization).not.toBe(second.authorization);
  });

  it('sends the empty-body hash S3 requires', () => {
    const headers = signRequest(
      { method: 'GET', host: 'h', path: '/k', headers: {} },
      KEYS,
      { region: 'eu-west-1', service: 's3' },
      new Date('2026-12-04T00:00:00Z'),
    );

    expect(headers['x-amz-content-sha256']).toBe(EMPTY_BODY_SHA256);
    expect(EMPTY_BODY_SHA256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('encodeKeyPath', () => {
  it.each([
    ['manifests/general.json', 'manifests/general.json'],
    ["a b/(c)!*'", 'a%20b/%28c%29%21%2A%27'],
    ['x+y=z/é', 'x%2By%3Dz/%C3%A9'],
    ['tilde~_-.', 'tilde~_-.'],
  ])('encodes %s as %s', (key, expected) => {
    expect(encodeKeyPath(key)).toBe(expected);
  });
});
