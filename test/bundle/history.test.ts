import { describe, expect, it } from 'vitest';
import { generateSshKey } from '../../local/ssh-keys.ts';
import { accessAt } from '../../shared/bundle/history.ts';
import { parseKeyring } from '../../shared/bundle/manifest.ts';
import { historyObjectKey, publishBundles } from '../../shared/bundle/publish.ts';
import { BundleRejectedError } from '../../shared/errors.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { person as basePerson } from '../helpers/people.ts';
import { newSigningKey } from '../helpers/signing.ts';
import { tempDir } from '../helpers/temp.ts';

const signingKey = newSigningKey();
const policy = parsePolicy(
  'hostClasses:\n  general: { allowGroups: ["*"], bundleLifetimeHours: 24 }\n',
  'policy',
);
const key = generateSshKey('ana').publicKey;
const person = (username: string, uidNumber: number) =>
  basePerson(username, uidNumber, { sshPublicKeys: [key] });

async function publishHistory() {
  const store = new LocalFolderStore(await tempDir());
  const times = ['2026-12-01T10:00:00.000Z', '2026-12-01T12:00:00.000Z', '2026-12-01T14:00:00.000Z'];
  const rosters = [
    [person('ana', 100000)],
    [person('ana', 100000), person('ben', 100001)],
    [person('ben', 100001)],
  ];
  for (const [n, time] of times.entries()) {
    const now = new Date(time);
    await publishBundles({
      snapshot: { people: rosters[n] ?? [], groups: [], readAt: time },
      policy,
      store,
      signingKey,
      now,
    });
  }
  return store;
}

describe('accessAt', () => {
  it.each([
    ['2026-12-01T11:00:00Z', 1, ['ana']],
    ['2026-12-01T12:00:00Z', 2, ['ana', 'ben']],
    ['2026-12-01T13:59:59Z', 2, ['ana', 'ben']],
    ['2026-12-01T20:00:00Z', 3, ['ben']],
  ])('lists who could log in at %s', async (at, serial, names) => {
    const store = await publishHistory();
    const answer = await accessAt(store, 'general', new Date(at));
    expect(answer.manifest?.serial).toBe(serial);
    expect(answer.people.map((entry) => entry.username)).toEqual(names);
    expect(answer.expired).toBe(false);
  });

  it('names the key fingerprints of each person', async () => {
    const answer = await accessAt(await publishHistory(), 'general', new Date('2026-12-01T11:00:00Z'));
    expect(answer.people[0]?.keyFingerprints[0]).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('reports nobody before the first bundle', async () => {
    const answer = await accessAt(await publishHistory(), 'general', new Date('2026-11-30T00:00:00Z'));
    expect(answer.manifest).toBeUndefined();
    expect(answer.people).toEqual([]);
  });

  it('flags a bundle that had expired by the time asked', async () => {
    const answer = await accessAt(await publishHistory(), 'general', new Date('2026-12-03T00:00:00Z'));
    expect(answer).toMatchObject({ expired: true, manifest: { serial: 3 } });
  });

  it('rejects a tampered history entry when given the keyring', async () => {
    const store = await publishHistory();
    const object = await store.get(historyObjectKey('general', 1));
    if (object.kind !== 'found') throw new Error('missing history');
    // The manifest is a JSON string inside the envelope, so its quotes are escaped.
    const tampered = object.body.toString().replace('\\"serial\\":1,', '\\"serial\\":9,');
    expect(tampered).not.toBe(object.body.toString());
    await store.put(historyObjectKey('general', 1), tampered);
    const keyring = parseKeyring(signingKey.publicKeyPem);
    await expect(accessAt(store, 'general', new Date('2026-12-01T10:30:00Z'), keyring)).rejects.toThrow(
      BundleRejectedError,
    );
  });
});
