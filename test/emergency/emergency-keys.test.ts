import { describe, expect, it } from 'vitest';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import type { DirectorySnapshot } from '../../shared/directory/model.ts';
import {
  asEmergencyBucket,
  MAX_EMERGENCY_OBJECT_BYTES,
  readEmergencyKeys,
} from '../../shared/emergency/emergency-keys.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { tempDir } from '../helpers/temp.ts';
import { ed25519Line } from './fixtures.ts';

const SNAPSHOT: DirectorySnapshot = {
  people: [
    {
      username: 'jane',
      uidNumber: 20001,
      gidNumber: 20001,
      displayName: 'Jane Doe',
      homeDirectory: '/home/jane',
      loginShell: '/bin/bash',
      status: 'active',
      sshPublicKeys: [],
    },
  ],
  groups: [{ name: 'jane', gidNumber: 20001, members: [] }],
  readAt: '2026-12-01T10:00:00.000Z',
};

const POLICY = parsePolicy(
  `hostClasses:
  bastion: { allowGroups: ["*"], emergencyKeys: true }
  prod-admin: { allowGroups: ["*"], emergencyKeys: true }
  general: { allowGroups: ["*"] }
`,
  'test policy',
);

async function bucketWith(objects: Record<string, string | Buffer>): Promise<LocalFolderStore> {
  const store = new LocalFolderStore(await tempDir('emergency-bucket-'));
  for (const [key, body] of Object.entries(objects)) await store.put(key, body);
  return store;
}

/** Builds each host class's emergency_authorized_keys file, undefined where the bundle has none. */
function emergencyFiles(lines: readonly string[]): Record<string, string | undefined> {
  return Object.fromEntries(
    POLICY.hostClasses.map((hostClass) => [
      hostClass.name,
      buildClassFiles(SNAPSHOT, hostClass, lines).files.get('emergency_authorized_keys')?.toString('utf8'),
    ]),
  );
}

describe('readEmergencyKeys', () => {
  it('keeps only the valid key of a mixed file', async () => {
    const valid = ed25519Line('jane@ops');
    const cutShort = ed25519Line('cut@ops').slice(0, 50);
    const store = await bucketWith({ 'ops/jane.pub': `${valid}\nthis is garbage\n${cutShort}\n` });

    const result = await readEmergencyKeys(store);

    expect(result.lines).toEqual([valid]);
    expect(result.objects).toBe(1);
    expect(result.invalid.map((line) => [line.objectKey, line.lineNumber, line.line])).toEqual([
      ['ops/jane.pub', 2, 'this is garbage'],
      ['ops/jane.pub', 3, cutShort],
    ]);
    expect(emergencyFiles(result.lines).bastion).toBe(`${valid}\n`);
  });

  it('orders objects by key and drops repeated lines', async () => {
    const first = ed25519Line('first');
    const second = ed25519Line('second');
    const store = await bucketWith({ 'b.pub': `${second}\n${first}\n`, 'a.pub': first });

    const result = await readEmergencyKeys(store);

    expect(result.lines).toEqual([first, second]);
    expect(result.keys.map((entry) => entry.objectKey)).toEqual(['a.pub', 'b.pub']);
  });

  it('reports an oversized object as invalid', async () => {
    const store = await bucketWith({ 'huge.pub': Buffer.alloc(MAX_EMERGENCY_OBJECT_BYTES + 1, 0x41) });

    const result = await readEmergencyKeys(store);

    expect(result.lines).toEqual([]);
    expect(result.invalid).toHaveLength(1);
    expect(result.invalid[0]?.reason).toMatch(/the maximum is 1048576/);
  });

  it('reports an oversized object without downloading it', async () => {
    const store = await bucketWith({
      'huge.pub': 'x'.repeat(MAX_EMERGENCY_OBJECT_BYTES + 1),
      'kept.pub': ed25519Line('kept'),
    });
    const reads: string[] = [];
    const watched: ObjectStore = {
      ...asEmergencyBucket(store),
      get: (key, options) => {
        reads.push(key);
        return store.get(key, options);
      },
    };

    const result = await readEmergencyKeys(watched);

    expect(reads).toEqual(['kept.pub']);
    expect(result.invalid).toEqual([
      {
        objectKey: 'huge.pub',
        lineNumber: 0,
        line: '',
        reason: `the object is ${MAX_EMERGENCY_OBJECT_BYTES + 1} bytes; the maximum is ${MAX_EMERGENCY_OBJECT_BYTES}`,
      },
    ]);
    expect(result.lines).toHaveLength(1);
  });

  it('skips an object deleted between listing and reading', async () => {
    const kept = ed25519Line('kept');
    const store = await bucketWith({ 'gone.pub': ed25519Line('gone'), 'kept.pub': kept });
    const racing: ObjectStore = {
      ...asEmergencyBucket(store),
      get: async (key, options) => (key === 'gone.pub' ? { kind: 'absent' } : store.get(key, options)),
    };

    const result = await readEmergencyKeys(racing);

    expect(result.lines).toEqual([kept]);
    expect(result.objects).toBe(1);
  });

  it('drops a removed key from every class bundle on the next read', async () => {
    const jane = ed25519Line('jane@ops');
    const john = ed25519Line('john@ops');
    const store = await bucketWith({ 'ops/jane.pub': jane, 'ops/john.pub': john });
    const before = emergencyFiles((await readEmergencyKeys(store)).lines);

    await store.delete('ops/jane.pub');
    const after = emergencyFiles((await readEmergencyKeys(store)).lines);

    expect(before).toEqual({
      bastion: `${jane}\n${john}\n`,
      'prod-admin': `${jane}\n${john}\n`,
      general: undefined,
    });
    expect(after).toEqual({ bastion: `${john}\n`, 'prod-admin': `${john}\n`, general: undefined });
  });

  it('returns nothing for an empty bucket', async () => {
    const result = await readEmergencyKeys(await bucketWith({}));

    expect(result).toEqual({ lines: [], keys: [], invalid: [], objects: 0 });
  });
});

describe('asEmergencyBucket', () => {
  it('reads the current object for any version id of a folder store', async () => {
    const line = ed25519Line('jane');
    const bucket = asEmergencyBucket(await bucketWith({ 'k.pub': line }));

    const result = await bucket.getVersion('k.pub', 'some-version');

    expect(result.kind).toBe('found');
    expect(result.kind === 'found' ? result.body.toString() : undefined).toBe(line);
    expect(await bucket.getTags('k.pub')).toEqual({});
    expect(await bucket.list('')).toEqual(['k.pub']);
  });
});
