// passwdCacheUid: one name's uid from passwd.cache, through the name index that libnss-cache reads.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { passwdCacheUid } from '../../host/passwd-cache.ts';
import { renderIndex, renderLines } from '../../shared/bundle/index-file.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fleet-login-passwd-cache-'));
  await mkdir(join(root, 'etc'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function writeCaches(cache: Buffer, index: Buffer): Promise<void> {
  await writeFile(join(root, 'etc/passwd.cache'), cache);
  await writeFile(join(root, 'etc/passwd.cache.ixname'), index);
}

describe('passwdCacheUid', () => {
  it('finds every person of a large cache', async () => {
    // Names of every length from 1 to 32 characters, so index lines carry the widest key's padding.
    const people = Array.from({ length: 640 }, (_, row) =>
      makePerson(`${'u'.repeat(1 + (row % 32))}${row}`.slice(-32), 60_000 + row),
    );
    const files = renderNssFiles(people, []);
    await writeCaches(files.get('passwd.cache') as Buffer, files.get('passwd.cache.ixname') as Buffer);

    for (const person of people)
      expect(passwdCacheUid(root, person.username), person.username).toBe(person.uidNumber);
  });

  it('returns undefined for a name the cache lacks', async () => {
    const files = renderNssFiles([makePerson('ana', 50001), makePerson('carla', 50003)], []);
    await writeCaches(files.get('passwd.cache') as Buffer, files.get('passwd.cache.ixname') as Buffer);

    expect(passwdCacheUid(root, 'bruno')).toBeUndefined();
    expect(passwdCacheUid(root, 'an')).toBeUndefined();
  });

  it('follows the index entry rather than scanning', async () => {
    // A scan would stop at the first `ana:` line; the index points at the second.
    const lines = ['ana:x:1001:1001::/home/ana:/bin/bash', 'ana:x:2002:2002::/home/ana:/bin/bash'];
    const { cache, offsets } = renderLines(lines);
    await writeCaches(cache, renderIndex([{ key: 'ana', offset: offsets[1] as number }]));

    expect(passwdCacheUid(root, 'ana')).toBe(2002);
  });

  it('scans when the index offset is past the end of the cache', async () => {
    const { cache } = renderLines(['ana:x:1001:1001::/home/ana:/bin/bash']);
    await writeCaches(cache, renderIndex([{ key: 'ana', offset: 999_999 }]));

    expect(passwdCacheUid(root, 'ana')).toBe(1001);
  });

  it('throws when passwd.cache is missing', () => {
    expect(() => passwdCacheUid(root, 'ana')).toThrow(/ENOENT/);
  });
});
