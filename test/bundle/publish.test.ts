import { describe, expect, it } from 'vitest';
import { BundleBuilder, buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import {
  manifestObjectKey,
  parseKeyring,
  readManifestUnverified,
  verifyManifest,
} from '../../shared/bundle/manifest.ts';
import { historyObjectKey, publishBundles } from '../../shared/bundle/publish.ts';
import type { DirectorySnapshot, Person } from '../../shared/directory/model.ts';
import { PublishRefusedError } from '../../shared/errors.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { person } from '../helpers/people.ts';
import { newSigningKey } from '../helpers/signing.ts';
import { tempDir } from '../helpers/temp.ts';

const signingKey = newSigningKey();
const keyring = parseKeyring(signingKey.publicKeyPem);
const policy = parsePolicy(
  `hostClasses:
  general: { allowGroups: ['*'] }
  bastion: { allowGroups: ['*'], shellOverride: /usr/local/sbin/fleet-login-no-shell }
  ops: { allowGroups: [ops], sudo: [{ group: ops, commands: [ALL] }] }
`,
  'test policy',
);

function snapshot(people: Person[], readAt = new Date().toISOString()): DirectorySnapshot {
  const privateGroups = people.map((p) => ({ name: p.username, gidNumber: p.gidNumber, members: [] }));
  return {
    people,
    groups: [...privateGroups, { name: 'ops', gidNumber: 500000, members: ['ana', 'cy'] }],
    readAt,
  };
}

async function readFileOf(store: LocalFolderStore, hostClass: string, name: string): Promise<string> {
  const manifestObject = await store.get(manifestObjectKey(hostClass));
  if (manifestObject.kind !== 'found') throw new Error('no manifest');
  const entry = verifyManifest(manifestObject.body, keyring).files[name as 'passwd.cache'];
  if (!entry) return '';
  const file = await store.get(`files/${entry.sha256}`);
  return file.kind === 'found' ? file.body.toString() : '';
}

describe('publishBundles', () => {
  it('publishes a verifiable manifest per class whose files are stored under their hash', async () => {
    const store = new LocalFolderStore(await tempDir());
    const results = await publishBundles({
      snapshot: snapshot([person('ana', 100000)]),
      policy,
      store,
      signingKey,
    });
    expect(results.map((result) => [result.hostClass, result.outcome, result.serial])).toEqual([
      ['general', 'published', 1],
      ['bastion', 'published', 1],
      ['ops', 'published', 1],
    ]);
    expect(await readFileOf(store, 'general', 'passwd.cache')).toBe(
      'ana:x:100000:100000:ana:/home/ana:/bin/bash\n',
    );
    expect(await readFileOf(store, 'bastion', 'passwd.cache')).toContain(
      ':/usr/local/sbin/fleet-login-no-shell\n',
    );
    expect((await store.get(historyObjectKey('general', 1))).kind).toBe('found');
  });

  it('leaves disabled people out of every map and drops their private group', async () => {
    const store = new LocalFolderStore(await tempDir());
    const people = [person('ana', 100000), person('cy', 100001, { status: 'disabled' })];
    await publishBundles({ snapshot: snapshot(people), policy, store, signingKey });
    for (const hostClass of ['general', 'bastion', 'ops']) {
      for (const name of ['passwd.cache', 'shadow.cache', 'sshkey.cache', 'group.cache']) {
        expect(await readFileOf(store, hostClass, name)).not.toMatch(/(^|[:,])cy([:,\n]|$)/m);
      }
    }
  });

  it('admits only members of allowed groups and ships their sudo rule', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({
      snapshot: snapshot([person('ana', 100000), person('ben', 100002)]),
      policy,
      store,
      signingKey,
    });
    expect(await readFileOf(store, 'ops', 'passwd.cache')).toBe(
      'ana:x:100000:100000:ana:/home/ana:/bin/bash\n',
    );
    expect(await readFileOf(store, 'ops', 'sudoers')).toContain('%ops ALL=(root) NOPASSWD: ALL\n');
    expect(await readFileOf(store, 'general', 'sudoers')).toBe('');
  });

  it('raises the serial only when the files change', async () => {
    const store = new LocalFolderStore(await tempDir());
    const input = { policy, store, signingKey };
    await publishBundles({ ...input, snapshot: snapshot([person('ana', 100000)]) });
    const same = await publishBundles({ ...input, snapshot: snapshot([person('ana', 100000)]) });
    expect(same[0]?.outcome).toBe('unchanged');
    const changed = await publishBundles({
      ...input,
      snapshot: snapshot([person('ana', 100000), person('ben', 100002)]),
    });
    expect(changed[0]).toMatchObject({ outcome: 'published', serial: 2 });
  });

  it('re-signs unchanged files once a quarter of the lifetime has passed', async () => {
    const store = new LocalFolderStore(await tempDir());
    const start = new Date('2026-12-01T00:00:00Z');
    await publishBundles({
      snapshot: snapshot([person('ana', 100000)], start.toISOString()),
      policy,
      store,
      signingKey,
      now: start,
    });
    const later = new Date(start.getTime() + 19 * 3_600_000);
    const results = await publishBundles({
      snapshot: snapshot([person('ana', 100000)], later.toISOString()),
      policy,
      store,
      signingKey,
      now: later,
    });
    expect(results[0]).toMatchObject({ outcome: 'published', serial: 2 });
  });

  it('refuses an empty snapshot and leaves the current manifests untouched', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({ snapshot: snapshot([person('ana', 100000)]), policy, store, signingKey });
    const before = await store.get(manifestObjectKey('general'));
    await expect(publishBundles({ snapshot: snapshot([]), policy, store, signingKey })).rejects.toThrow(
      PublishRefusedError,
    );
    expect(await store.get(manifestObjectKey('general'))).toEqual(before);
  });

  it('never replaces a manifest built from a newer snapshot', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({
      snapshot: snapshot([person('ana', 100000)], '2026-12-01T10:00:00.000Z'),
      policy,
      store,
      signingKey,
    });
    const stale = await publishBundles({
      snapshot: snapshot([person('ana', 100000), person('old', 100009)], '2026-12-01T09:00:00.000Z'),
      policy,
      store,
      signingKey,
    });
    expect(stale[0]?.outcome).toBe('superseded');
    expect(await readFileOf(store, 'general', 'passwd.cache')).not.toContain('old:');
  });

  it('keeps serials rising when two publishers run at once', async () => {
    const store = new LocalFolderStore(await tempDir());
    const base = Date.parse('2026-12-01T10:00:00.000Z');
    const runs = Array.from({ length: 6 }, (_, n) =>
      publishBundles({
        snapshot: snapshot(
          [person('ana', 100000), person(`p${n}`, 100010 + n)],
          new Date(base + n).toISOString(),
        ),
        policy,
        store,
        signingKey,
      }),
    );
    await Promise.all(runs);
    const manifestObject = await store.get(manifestObjectKey('general'));
    if (manifestObject.kind !== 'found') throw new Error('no manifest');
    const manifest = readManifestUnverified(manifestObject.body);
    const history = await store.list('manifests-history/general/');
    expect(manifest?.serial).toBe(history.length);
    const serials = history.map((key) => Number(key.slice(-17, -5)));
    expect(serials).toEqual([...serials].sort((a, b) => a - b));
  });
});

describe('publishBundles shrink guard', () => {
  const many = (count: number) => Array.from({ length: count }, (_, n) => person(`p${n}`, 100100 + n));

  it('refuses a 15% drop, naming the class, and leaves every manifest untouched', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({ snapshot: snapshot(many(40)), policy, store, signingKey });
    const before = await store.get(manifestObjectKey('general'));
    const attempt = publishBundles({ snapshot: snapshot(many(34)), policy, store, signingKey });
    await expect(attempt).rejects.toThrow(PublishRefusedError);
    await expect(attempt).rejects.toThrow(/general would go from 40 to 34 people/);
    expect(await store.get(manifestObjectKey('general'))).toEqual(before);
  });

  it('publishes the same drop once an operator confirms it', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({ snapshot: snapshot(many(40)), policy, store, signingKey });
    const results = await publishBundles({
      snapshot: snapshot(many(34)),
      policy,
      store,
      signingKey,
      confirmShrink: true,
    });
    expect(results[0]).toMatchObject({ outcome: 'published', serial: 2, people: 34 });
  });

  it('lets a drop within the limit through', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({ snapshot: snapshot(many(40)), policy, store, signingKey });
    const results = await publishBundles({ snapshot: snapshot(many(37)), policy, store, signingKey });
    expect(results[0]?.outcome).toBe('published');
  });

  it('lets one or two departures from a small class through', async () => {
    const store = new LocalFolderStore(await tempDir());
    await publishBundles({ snapshot: snapshot(many(3)), policy, store, signingKey });
    const results = await publishBundles({ snapshot: snapshot(many(1)), policy, store, signingKey });
    expect(results[0]).toMatchObject({ outcome: 'published', people: 1 });
  });
});

describe('BundleBuilder', () => {
  it('builds each class exactly as a builder of its own would', () => {
    const people = [
      person('ana', 100000),
      person('ben', 100002, { displayName: 'Bén' }),
      person('cy', 100001),
    ];
    const shared = new BundleBuilder(snapshot(people));
    for (const hostClass of policy.hostClasses) {
      const alone = buildClassFiles(snapshot(people), hostClass);
      expect(shared.build(hostClass).files).toEqual(alone.files);
    }
  });
});
