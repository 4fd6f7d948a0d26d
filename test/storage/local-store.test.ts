import { mkdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreconditionFailedError, StorageError } from '../../shared/errors.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { tempDir } from '../helpers/temp.ts';

describe('LocalFolderStore', () => {
  it('round-trips objects with ETags and answers not-modified', async () => {
    const store = new LocalFolderStore(await tempDir());
    const { etag } = await store.put('a/b.json', '{}');
    const read = await store.get('a/b.json');
    expect(read).toMatchObject({ kind: 'found', etag });
    expect(await store.get('a/b.json', { ifNoneMatch: etag })).toEqual({ kind: 'not-modified' });
    expect(await store.get('missing')).toEqual({ kind: 'absent' });
  });

  it('reads an object size, and none for a missing object', async () => {
    const store = new LocalFolderStore(await tempDir());
    await store.put('k', Buffer.alloc(77));
    expect(await store.sizeOf('k')).toBe(77);
    expect(await store.sizeOf('missing')).toBeUndefined();
  });

  it('creates once with putIfAbsent', async () => {
    const store = new LocalFolderStore(await tempDir());
    expect(await store.putIfAbsent('k', 'first')).toBe(true);
    expect(await store.putIfAbsent('k', 'second')).toBe(false);
    const read = await store.get('k');
    expect(read.kind).toBe('found');
    expect(read.kind === 'found' ? read.body.toString() : '').toBe('first');
  });

  it('replaces only while the ETag still matches', async () => {
    const store = new LocalFolderStore(await tempDir());
    const { etag } = await store.put('k', 'one');
    await store.putIfMatch('k', 'two', etag);
    await expect(store.putIfMatch('k', 'three', etag)).rejects.toThrow(PreconditionFailedError);
  });

  it('takes over a lock left by a crashed writer', async () => {
    const root = await tempDir();
    const store = new LocalFolderStore(root);
    const { etag } = await store.put('manifests/general.json', 'one');
    const lock = join(root, 'manifests', '.lock-manifests_general.json');
    await mkdir(lock);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(lock, minuteAgo, minuteAgo);
    await store.putIfMatch('manifests/general.json', 'two', etag);
    const read = await store.get('manifests/general.json');
    expect(read.kind).toBe('found');
    expect(read.kind === 'found' ? read.body.toString() : '').toBe('two');
  });

  it.each(['../escape', '/etc/passwd', 'a/../../b', '.hidden', 'a/.tmp-x', ''])(
    'rejects the key %j',
    async (key) => {
      const store = new LocalFolderStore(await tempDir());
      await expect(store.put(key, 'x')).rejects.toThrow(StorageError);
    },
  );

  it('lists keys under a prefix in byte order, hiding temp files', async () => {
    const store = new LocalFolderStore(await tempDir());
    for (const key of ['p/b', 'p/a', 'q/c', 'p/B']) await store.put(key, key);
    expect(await store.list('p/')).toEqual(['p/B', 'p/a', 'p/b']);
  });
});
