import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PreconditionFailedError, StorageError } from '../../shared/errors.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { FAUXQS_REGION, type LoopbackFauxqs, startLoopbackFauxqs } from '../harness/fauxqs.ts';

/** Builds an S3 error response as the SDK raises it. */
function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

describe('S3ObjectStore on fauxqs', () => {
  let fauxqs: LoopbackFauxqs;
  let bucketCount = 0;

  beforeAll(async () => {
    fauxqs = await startLoopbackFauxqs();
  });

  afterAll(async () => {
    await fauxqs?.stop();
  });

  async function newStore(): Promise<S3ObjectStore> {
    bucketCount += 1;
    const bucket = `store-test-${bucketCount}`;
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return new S3ObjectStore({ bucket, client: fauxqs.s3 });
  }

  it('writes and reads an object back with its ETag', async () => {
    const store = await newStore();

    const { etag } = await store.put('a/key with spaces+plus.pub', Buffer.from('hello'));
    const result = await store.get('a/key with spaces+plus.pub');

    expect(etag).toBe('"5d41402abc4b2a76b9719d911017c592"');
    expect(result).toEqual({ kind: 'found', body: Buffer.from('hello'), etag });
  });

  it('reads an object size without its body, and none for a missing object', async () => {
    const store = await newStore();
    await store.put('sized', Buffer.alloc(1234, 0x61));

    expect(await store.sizeOf('sized')).toBe(1234);
    expect(await store.sizeOf('missing')).toBeUndefined();
  });

  it('reads a missing object as absent', async () => {
    const store = await newStore();

    expect(await store.get('missing')).toEqual({ kind: 'absent' });
    expect(await store.getVersion('missing')).toEqual({ kind: 'absent' });
  });

  it('answers not-modified when the ETag still matches', async () => {
    const store = await newStore();
    const { etag } = await store.put('manifest.json', '{}');

    expect(await store.get('manifest.json', { ifNoneMatch: etag })).toEqual({ kind: 'not-modified' });
    expect((await store.get('manifest.json', { ifNoneMatch: '"other"' })).kind).toBe('found');
  });

  it('lists keys under a prefix in byte order across pages', async () => {
    const store = await newStore();
    const keys = Array.from({ length: 1010 }, (_, index) => `files/${index.toString().padStart(4, '0')}`);
    for (let start = 0; start < keys.length; start += 100) {
      await Promise.all(keys.slice(start, start + 100).map((key) => store.put(key, 'x')));
    }
    await store.put('other/z', 'x');
    await store.put('files/B', 'x');
    await store.put('files/a', 'x');

    const send = vi.spyOn(fauxqs.s3, 'send');

    const listed = await store.list('files/');

    const listCalls = send.mock.calls.filter(([command]) => command instanceof ListObjectsV2Command);
    send.mockRestore();
    expect(listCalls).toHaveLength(2);
    expect(listed).toHaveLength(1012);
    expect(listed.slice(-2)).toEqual(['files/B', 'files/a']);
    expect(listed[0]).toBe('files/0000');
    expect(await store.list('other/')).toEqual(['other/z']);
  });

  it('deletes an object', async () => {
    const store = await newStore();
    await store.put('k', 'x');

    await store.delete('k');

    expect(await store.list('')).toEqual([]);
  });

  it('builds its own client from endpoint, region and path style', async () => {
    bucketCount += 1;
    const bucket = `store-test-${bucketCount}`;
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    try {
      const store = new S3ObjectStore({
        bucket,
        endpoint: fauxqs.endpoint,
        region: FAUXQS_REGION,
        forcePathStyle: true,
      });

      await store.put('k', 'from a built client');

      expect(store.location).toBe(`s3://${bucket}`);
      const result = await store.get('k');
      expect(result.kind).toBe('found');
      expect(result.kind === 'found' ? result.body.toString() : undefined).toBe('from a built client');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

// fauxqs ignores If-None-Match and If-Match on PUT, so the conditional responses come from a mocked client.
describe('S3ObjectStore conditional writes', () => {
  const client = new S3Client({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const s3 = mockClient(client);
  const store = new S3ObjectStore({ bucket: 'bundles', client });

  it('sends If-None-Match: * and reports a created object', async () => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({ ETag: '"abc"' });

    expect(await store.putIfAbsent('k', 'x')).toBe(true);
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({
      Bucket: 'bundles',
      Key: 'k',
      IfNoneMatch: '*',
    });
  });

  it('returns false when the object already exists (412)', async () => {
    s3.reset();
    s3.on(PutObjectCommand).rejects(s3Error('PreconditionFailed', 412));

    expect(await store.putIfAbsent('k', 'x')).toBe(false);
  });

  it('raises PreconditionFailedError on a concurrent create (409)', async () => {
    s3.reset();
    s3.on(PutObjectCommand).rejects(s3Error('ConditionalRequestConflict', 409));

    await expect(store.putIfAbsent('k', 'x')).rejects.toThrow(PreconditionFailedError);
  });

  it.each([
    ['PreconditionFailed', 412],
    ['ConditionalRequestConflict', 409],
  ])('raises PreconditionFailedError when If-Match loses with %s', async (name, status) => {
    s3.reset();
    s3.on(PutObjectCommand).rejects(s3Error(name, status));

    const attempt = store.putIfMatch('manifests/bastion.json', 'x', '"old"');

    await expect(attempt).rejects.toThrow(PreconditionFailedError);
    await expect(attempt).rejects.toThrow('manifests/bastion.json in s3://bundles');
    expect(s3.commandCalls(PutObjectCommand)[0]?.args[0].input).toMatchObject({ IfMatch: '"old"' });
  });

  it('returns the new ETag when If-Match wins', async () => {
    s3.reset();
    s3.on(PutObjectCommand).resolves({ ETag: '"new"' });

    expect(await store.putIfMatch('k', 'x', '"old"')).toEqual({ etag: '"new"' });
  });

  it('wraps other failures in StorageError with the cause', async () => {
    s3.reset();
    const cause = s3Error('InternalError', 500);
    s3.on(PutObjectCommand).rejects(cause);
    s3.on(GetObjectCommand).rejects(cause);
    s3.on(ListObjectsV2Command).rejects(cause);

    const failures = [store.put('k', 'x'), store.get('k'), store.list('')];

    for (const failure of failures) {
      const error = await failure.catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(StorageError);
      expect(error).not.toBeInstanceOf(PreconditionFailedError);
      expect((error as StorageError).cause).toBe(cause);
    }
  });
});

describe('S3ObjectStore versions, tags and pages', () => {
  const client = new S3Client({
    region: 'eu-central-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const s3 = mockClient(client);
  const store = new S3ObjectStore({ bucket: 'emergency', client });

  it('reads the version it is given', async () => {
    s3.reset();
    s3.on(GetObjectCommand).resolves({
      ETag: '"v1"',
      Body: { transformToByteArray: async () => Buffer.from('key') } as never,
    });

    const result = await store.getVersion('ops/jane.pub', 'version-1');

    expect(result).toEqual({ kind: 'found', body: Buffer.from('key'), etag: '"v1"' });
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'emergency',
      Key: 'ops/jane.pub',
      VersionId: 'version-1',
    });
  });

  it.each([
    ['NoSuchVersion', 404],
    ['MethodNotAllowed', 405],
  ])('reads a version as absent on %s', async (name, status) => {
    s3.reset();
    s3.on(GetObjectCommand).rejects(s3Error(name, status));

    expect(await store.getVersion('k', 'version-1')).toEqual({ kind: 'absent' });
  });

  it('returns tags as a record', async () => {
    s3.reset();
    s3.on(GetObjectTaggingCommand).resolves({
      TagSet: [
        { Key: 'reason', Value: 'INC-4711' },
        { Key: 'owner', Value: 'sre' },
      ],
    });

    expect(await store.getTags('k', 'version-1')).toEqual({ reason: 'INC-4711', owner: 'sre' });
    expect(s3.commandCalls(GetObjectTaggingCommand)[0]?.args[0].input).toEqual({
      Bucket: 'emergency',
      Key: 'k',
      VersionId: 'version-1',
    });
  });

  it('wraps a tag read failure in StorageError', async () => {
    s3.reset();
    s3.on(GetObjectTaggingCommand).rejects(s3Error('AccessDenied', 403));

    await expect(store.getTags('k')).rejects.toThrow(StorageError);
  });

  it('follows continuation tokens', async () => {
    s3.reset();
    s3.on(ListObjectsV2Command)
      .resolvesOnce({ Contents: [{ Key: 'b' }], IsTruncated: true, NextContinuationToken: 'page-2' })
      .resolvesOnce({ Contents: [{ Key: 'a' }], IsTruncated: false });

    expect(await store.list('')).toEqual(['a', 'b']);
    expect(s3.commandCalls(ListObjectsV2Command)[1]?.args[0].input).toMatchObject({
      ContinuationToken: 'page-2',
    });
  });
});
