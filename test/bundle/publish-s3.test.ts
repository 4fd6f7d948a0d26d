// Concurrent publishers on the S3 path: S3's conditional-write failures (412, 409) come from
// aws-sdk-client-mock, because no local S3 server enforces If-Match on PutObject.

import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { manifestObjectKey, readManifestUnverified } from '../../shared/bundle/manifest.ts';
import { publishBundles } from '../../shared/bundle/publish.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { person as basePerson } from '../helpers/people.ts';
import { newSigningKey } from '../helpers/signing.ts';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const signingKey = newSigningKey();
const policy = parsePolicy(
  'hostClasses:\n  general: { allowGroups: ["*"] }\n  bastion: { allowGroups: ["*"], shellOverride: /usr/sbin/nologin }\n',
  'policy',
);

const person = (username: string, uidNumber: number) =>
  basePerson(username, uidNumber, { sshPublicKeys: [] });

function conditionFailed(status: 412 | 409): S3ServiceException {
  return new S3ServiceException({
    name: status === 412 ? 'PreconditionFailed' : 'ConditionalRequestConflict',
    $fault: 'client',
    $metadata: { httpStatusCode: status },
  });
}

/** An in-memory bucket behind the mock that honours If-None-Match and If-Match like S3. */
function fakeBucket() {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  const writes: string[] = [];
  let interfere: ((key: string) => S3ServiceException | undefined) | undefined;
  s3.on(GetObjectCommand).callsFake(({ Key }) => {
    const object = objects.get(Key);
    if (!object)
      throw new S3ServiceException({
        name: 'NoSuchKey',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      });
    return { Body: { transformToByteArray: async () => object.body } as never, ETag: object.etag };
  });
  s3.on(ListObjectsV2Command).callsFake(({ Prefix }) => ({
    Contents: [...objects.keys()]
      .filter((key) => key.startsWith(Prefix ?? ''))
      .sort()
      .map((Key) => ({ Key })),
    IsTruncated: false,
  }));
  s3.on(PutObjectCommand).callsFake(({ Key, Body, IfNoneMatch, IfMatch }) => {
    const injected = interfere?.(Key);
    if (injected) throw injected;
    const current = objects.get(Key);
    if (IfNoneMatch === '*' && current) throw conditionFailed(412);
    if (IfMatch !== undefined && current?.etag !== IfMatch) throw conditionFailed(412);
    const body = Buffer.from(Body as Buffer);
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    objects.set(Key, { body, etag });
    writes.push(Key);
    return { ETag: etag };
  });
  return {
    objects,
    writes,
    setInterference: (fn: typeof interfere) => {
      interfere = fn;
    },
  };
}

function serialOf(bucket: ReturnType<typeof fakeBucket>, hostClass: string): number | undefined {
  const object = bucket.objects.get(manifestObjectKey(hostClass));
  return object ? readManifestUnverified(object.body)?.serial : undefined;
}

describe('publishBundles on S3', () => {
  const store = () =>
    new S3ObjectStore({ bucket: 'bundles', client: new S3Client({ region: 'eu-central-1' }) });

  it('re-reads and publishes above the winner when another publisher writes the manifest first', async () => {
    const bucket = fakeBucket();
    await publishBundles({
      snapshot: { people: [person('ana', 100000)], groups: [], readAt: '2026-12-01T10:00:00.000Z' },
      policy,
      store: store(),
      signingKey,
    });
    expect(serialOf(bucket, 'general')).toBe(1);

    // The other publisher's manifest lands between our read and our conditional write.
    let raced = false;
    bucket.setInterference((key) => {
      if (key !== manifestObjectKey('general') || raced) return undefined;
      raced = true;
      const winner = bucket.objects.get(key);
      if (winner) bucket.objects.set(key, { ...winner, etag: '"someone-else"' });
      return conditionFailed(412);
    });
    const results = await publishBundles({
      snapshot: {
        people: [person('ana', 100000), person('ben', 100001)],
        groups: [],
        readAt: '2026-12-01T10:05:00.000Z',
      },
      policy,
      store: store(),
      signingKey,
    });
    expect(raced).toBe(true);
    expect(results[0]).toMatchObject({ hostClass: 'general', outcome: 'published', serial: 2 });
    expect(serialOf(bucket, 'general')).toBe(2);
  });

  it('retries after a 409 conflicting write and never lowers a serial', async () => {
    const bucket = fakeBucket();
    const snapshot = (names: string[], readAt: string) => ({
      people: names.map((name, n) => person(name, 100000 + n)),
      groups: [],
      readAt,
    });
    await publishBundles({
      snapshot: snapshot(['ana'], '2026-12-01T10:00:00.000Z'),
      policy,
      store: store(),
      signingKey,
    });
    let conflicts = 2;
    bucket.setInterference((key) =>
      key.startsWith('manifests/') && conflicts-- > 0 ? conditionFailed(409) : undefined,
    );
    await publishBundles({
      snapshot: snapshot(['ana', 'ben'], '2026-12-01T10:01:00.000Z'),
      policy,
      store: store(),
      signingKey,
    });
    expect(serialOf(bucket, 'general')).toBe(2);
    expect(serialOf(bucket, 'bastion')).toBe(2);
  });

  it('leaves the newer snapshot in place when an older publisher loses the race', async () => {
    const bucket = fakeBucket();
    const newer = { people: [person('ana', 100000)], groups: [], readAt: '2026-12-01T10:10:00.000Z' };
    const older = {
      people: [person('ana', 100000), person('gone', 100009)],
      groups: [],
      readAt: '2026-12-01T10:00:00.000Z',
    };
    await publishBundles({ snapshot: newer, policy, store: store(), signingKey });
    const results = await publishBundles({ snapshot: older, policy, store: store(), signingKey });
    expect(results.map((result) => result.outcome)).toEqual(['superseded', 'superseded']);
    expect(serialOf(bucket, 'general')).toBe(1);
    expect(bucket.writes.filter((key) => key.startsWith('manifests/'))).toHaveLength(2);
  });
});
