// The agent's S3 reader against a scripted HTTP server on loopback: statuses, retries, cut bodies,
// and where requests for a bucket go.

import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  bucketAddress,
  S3_MAX_ATTEMPTS,
  S3BundleReader,
  type S3Source,
  transportFor,
} from '../../host/s3-source.ts';
import { StorageError } from '../../shared/errors.ts';
import { signatureOf, signWithSdk } from './aws-sdk-signer.ts';

const CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret', sessionToken: 'test-session' };
const NOW = new Date('2026-12-04T21:00:00Z');

/** Writes the response to the n-th request (counted from 0) of a test. */
type Responder = (index: number, response: ServerResponse) => void;

let server: Server;
let endpoint: string;
let respond: Responder;
let seen: { path: string; headers: IncomingHttpHeaders }[];
const readers: S3BundleReader[] = [];

beforeEach(async () => {
  seen = [];
  respond = (_, response) => response.writeHead(500).end();
  server = createServer((incoming, response) => {
    seen.push({ path: incoming.url ?? '', headers: incoming.headers });
    respond(seen.length - 1, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const reader of readers.splice(0)) reader.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function openReader(): Promise<S3BundleReader> {
  const source: S3Source = {
    type: 's3',
    bucket: 'bundles',
    region: 'eu-west-1',
    endpoint,
    forcePathStyle: true,
  };
  const transport = await transportFor(new URL(endpoint));
  const reader = new S3BundleReader(source, {
    transport,
    getCredentials: async () => CREDENTIALS,
    now: () => NOW,
  });
  readers.push(reader);
  return reader;
}

describe('S3BundleReader.get', () => {
  it('returns the body and ETag of a 200', async () => {
    respond = (_, response) => response.writeHead(200, { etag: '"abc"' }).end('manifest bytes');

    const result = await (await openReader()).get('manifests/general.json');

    expect(result).toEqual({ kind: 'found', body: Buffer.from('manifest bytes'), etag: '"abc"' });
    expect(seen.map((request) => request.path)).toEqual(['/bundles/manifests/general.json']);
  });

  it('sends If-None-Match and reads a 304 as not-modified', async () => {
    respond = (_, response) => response.writeHead(304, { etag: '"abc"', 'content-length': '14' }).end();

    const result = await (await openReader()).get('manifests/general.json', { ifNoneMatch: '"abc"' });

    expect(result).toEqual({ kind: 'not-modified' });
    expect(seen[0]?.headers['if-none-match']).toBe('"abc"');
  });

  it('signs each request as the AWS SDK does', async () => {
    respond = (_, response) => response.writeHead(304).end();

    await (await openReader()).get('manifests/general.json', { ifNoneMatch: '"abc"' });

    const headers = seen[0]?.headers ?? {};
    const { port } = new URL(endpoint);
    const expected = await signWithSdk(
      {
        hostname: '127.0.0.1',
        port: Number(port),
        path: '/bundles/manifests/general.json',
        headers: { host: `127.0.0.1:${port}`, 'if-none-match': '"abc"' },
      },
      CREDENTIALS,
      'eu-west-1',
      NOW,
    );
    expect(signatureOf(headers.authorization)).toBe(signatureOf(expected.authorization));
    expect(headers['x-amz-security-token']).toBe(CREDENTIALS.sessionToken);
  });

  it('reads a 404 as absent', async () => {
    respond = (_, response) => response.writeHead(404).end('<Error><Code>NoSuchKey</Code></Error>');

    expect(await (await openReader()).get('files/0')).toEqual({ kind: 'absent' });
  });

  it('rejects a 403 at once, naming the key and S3 error code', async () => {
    respond = (_, response) => response.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');

    const failure = (await openReader()).get('manifests/general.json');

    await expect(failure).rejects.toBeInstanceOf(StorageError);
    await expect(failure).rejects.toThrow(
      'reading manifests/general.json from s3://bundles failed: HTTP 403 (AccessDenied)',
    );
    expect(seen).toHaveLength(1);
  });

  it('retries a 503 and returns the next answer', async () => {
    respond = (index, response) => {
      if (index === 0) response.writeHead(503).end('<Error><Code>SlowDown</Code></Error>');
      else response.writeHead(200, { etag: '"e"' }).end('body');
    };

    const result = await (await openReader()).get('files/1');

    expect(result).toMatchObject({ kind: 'found', etag: '"e"' });
    expect(seen).toHaveLength(2);
  });

  it('gives up after the last attempt', async () => {
    respond = (_, response) => response.writeHead(500).end('<Error><Code>InternalError</Code></Error>');

    await expect((await openReader()).get('files/1')).rejects.toThrow('HTTP 500 (InternalError)');
    expect(seen).toHaveLength(S3_MAX_ATTEMPTS);
  });

  it('rejects a body cut short of its Content-Length', async () => {
    respond = (_, response) => {
      response.writeHead(200, { etag: '"e"', 'content-length': '100' });
      response.write('only part');
      setTimeout(() => response.socket?.destroy(), 10);
    };

    await expect((await openReader()).get('files/2')).rejects.toBeInstanceOf(StorageError);
    expect(seen).toHaveLength(S3_MAX_ATTEMPTS);
  });

  it('rejects a 200 without an ETag', async () => {
    respond = (_, response) => response.writeHead(200).end('body');

    await expect((await openReader()).get('files/3')).rejects.toThrow('returned no ETag');
  });
});

describe('bucketAddress', () => {
  const base = { type: 's3', region: 'eu-west-1' } as const;

  it.each([
    [{ ...base, bucket: 'bundles' }, 'https://bundles.s3.eu-west-1.amazonaws.com', ''],
    [{ ...base, bucket: 'bundles', forcePathStyle: true }, 'https://s3.eu-west-1.amazonaws.com', '/bundles'],
    [{ ...base, bucket: 'my.bundles' }, 'https://s3.eu-west-1.amazonaws.com', '/my.bundles'],
    [{ ...base, bucket: 'b12', region: 'cn-north-1' }, 'https://b12.s3.cn-north-1.amazonaws.com.cn', ''],
    [
      { ...base, bucket: 'bundles', endpoint: 'https://bucket.vpce-1.s3.eu-west-1.vpce.amazonaws.com' },
      'https://bundles.bucket.vpce-1.s3.eu-west-1.vpce.amazonaws.com',
      '',
    ],
    [
      { ...base, bucket: 'bundles', endpoint: 'http://127.0.0.1:4566/', forcePathStyle: true },
      'http://127.0.0.1:4566',
      '/bundles',
    ],
  ])('addresses %o', (source, origin, pathPrefix) => {
    const address = bucketAddress(source);

    expect(address.url.origin).toBe(origin);
    expect(address.pathPrefix).toBe(pathPrefix);
  });
});
