// The built agent as a process against loopback S3 (fauxqs behind the recording proxy): credentials
// from a fake IMDS, request signatures checked with the AWS SDK's signer, and the V8 code cache.

import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CODE_CACHE_FILE } from '../../host/embedded-module.ts';
import { EXIT } from '../../host/exit-codes.ts';
import { closedLoopbackPort, FAUXQS_REGION } from '../harness/fauxqs.ts';
import { signatureOf, signWithSdk } from './aws-sdk-signer.ts';
import { type FakeImds, IMDS_CREDENTIALS, startFakeImds } from './fake-imds.ts';
import {
  agentEnvironment,
  buildAgentInto,
  createS3AgentHost,
  makeSnapshot,
  type S3AgentHost,
  type S3Bundles,
  startS3Bundles,
} from './s3-fixture.ts';

let build: Awaited<ReturnType<typeof buildAgentInto>>;
let bundles: S3Bundles;
let host: S3AgentHost;
let imds: FakeImds;
let stateDirectory: string;

beforeAll(async () => {
  build = await buildAgentInto();
});

afterAll(async () => {
  await build.cleanup();
});

beforeEach(async () => {
  bundles = await startS3Bundles();
  imds = await startFakeImds();
  await bundles.publish(makeSnapshot());
  host = await createS3AgentHost(build.agentPath, bundles, 'general');
  stateDirectory = await mkdtemp(join(tmpdir(), 'fleet-login-state-'));
});

afterEach(async () => {
  await host.cleanup();
  await imds.stop();
  await bundles.stop();
  await rm(stateDirectory, { recursive: true, force: true });
});

/** Parses x-amz-date (`20261204T211500Z`). */
function parseAmzDate(text: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!match) throw new Error(`not an x-amz-date: ${text}`);
  const [, year, month, day, hour, minute, second] = match;
  return new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
}

describe('fleet-login-agent S3 credentials', () => {
  it('signs with the instance profile from IMDS', async () => {
    // No AWS_ACCESS_KEY_ID in the environment, so the agent must ask the fake IMDS.
    const env = { PATH: process.env.PATH, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint };

    const result = await host.sync(env);

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(imds.requests).toHaveLength(3);
    expect(bundles.proxy.requestHeaders.length).toBeGreaterThan(1);
    for (const [index, headers] of bundles.proxy.requestHeaders.entries()) {
      const path = bundles.proxy.requests[index]?.path ?? '';
      const signedHeaders = /SignedHeaders=([^,]+),/.exec(headers.authorization ?? '')?.[1]?.split(';') ?? [];
      const toSign = Object.fromEntries(signedHeaders.map((name) => [name, String(headers[name])]));
      const [hostname, port] = String(headers.host).split(':');
      const expected = await signWithSdk(
        { hostname: hostname ?? '', port: Number(port), path, headers: toSign },
        IMDS_CREDENTIALS,
        FAUXQS_REGION,
        parseAmzDate(String(headers['x-amz-date'])),
      );
      expect(signatureOf(headers.authorization), path).toBe(signatureOf(expected.authorization));
      expect(headers.authorization).toContain(`Credential=${IMDS_CREDENTIALS.accessKeyId}/`);
      expect(headers['x-amz-security-token']).toBe(IMDS_CREDENTIALS.sessionToken);
    }
  });

  it('fails the fetch when IMDS has no role', async () => {
    imds.setRoles('');
    const env = { PATH: process.env.PATH, AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint };

    const result = await host.sync(env);

    expect(result.code).toBe(EXIT.fetchFailed);
    expect(result.logs.find((line) => line.message === 'sync failed')?.cause).toContain(imds.endpoint);
    expect(bundles.proxy.requests).toEqual([]);
  });
});

describe('fleet-login-agent https endpoint', () => {
  it('loads the TLS client and reports a refused connection', async () => {
    // No TLS server runs here: the check is that the embedded code can load node:https at all.
    await host.useEndpoint(`https://127.0.0.1:${await closedLoopbackPort()}`);

    const result = await host.sync();

    expect(result.code).toBe(EXIT.fetchFailed);
    expect(result.logs.find((line) => line.message === 'sync failed')?.cause).toContain('ECONNREFUSED');
  });
});

describe('fleet-login-agent code cache', () => {
  const cacheFile = () => join(stateDirectory, CODE_CACHE_FILE);
  const withState = () => agentEnvironment({ STATE_DIRECTORY: stateDirectory });

  it('writes the cache once and reuses it', async () => {
    expect((await host.sync(withState())).code).toBe(EXIT.ok);
    const written = await stat(cacheFile());

    const poll = await host.sync(withState());

    expect(poll.code, poll.stderr).toBe(EXIT.ok);
    // An unchanged inode and mtime mean V8 accepted the cache, because a rejected one is rewritten.
    const after = await stat(cacheFile());
    expect(after.ino).toBe(written.ino);
    expect(after.mtimeMs).toBe(written.mtimeMs);
    expect(written.mode & 0o777).toBe(0o600);
  });

  it.each([
    ['damaged data', (cache: Buffer) => Buffer.concat([cache.subarray(0, 32), Buffer.alloc(4_096, 7)])],
    ['another bundle', (cache: Buffer) => Buffer.concat([Buffer.alloc(32), cache.subarray(32)])],
    ['a truncated file', (cache: Buffer) => cache.subarray(0, 20)],
  ])('replaces a cache with %s', async (_, spoil) => {
    expect((await host.sync(withState())).code).toBe(EXIT.ok);
    const good = await readFile(cacheFile());
    const spoiled = spoil(good);
    await writeFile(cacheFile(), spoiled);

    const poll = await host.sync(withState());

    expect(poll.code, poll.stderr).toBe(EXIT.ok);
    expect(poll.logs.at(-1)?.outcome).toBe('not-modified');
    const rewritten = await readFile(cacheFile());
    expect(rewritten.equals(spoiled)).toBe(false);
    expect(rewritten.subarray(0, 32)).toEqual(good.subarray(0, 32));
    expect(rewritten.length).toBeGreaterThan(32);
  });
});
