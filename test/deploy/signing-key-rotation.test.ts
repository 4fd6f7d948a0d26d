// The bundle signing-key rotation of docs/operations.md, run with the real publisher and the built agent.

import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { type Manifest, readManifestUnverified, type SigningKey } from '../../shared/bundle/manifest.ts';
import { type ClassPublishResult, publishBundles } from '../../shared/bundle/publish.ts';
import type { Person } from '../../shared/directory/model.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { newSigningKey } from '../helpers/signing.ts';
import { tempDir } from '../helpers/temp.ts';
import { makePerson } from '../host/bundle-fixture.ts';

const run = promisify(execFile);

const AGENT = join(process.cwd(), 'dist/fleet-login-agent.mjs');
const HOUR_MS = 60 * 60 * 1000;
const LIFETIME_HOURS = 24;
const POLICY = parsePolicy(
  `hostClasses:\n  general:\n    allowGroups: ["*"]\n    bundleLifetimeHours: ${LIFETIME_HOURS}\n`,
  'rotation-policy.yaml',
);

interface Fleet {
  store: LocalFolderStore;
  /** Publishes a snapshot of `people` read at `at`, signed with `key`. */
  publish(key: SigningKey, people: Person[], at: Date): Promise<ClassPublishResult>;
  /** Replaces the host's keyring file with these public keys. */
  trust(...keys: { publicKeyPem: string }[]): Promise<void>;
  /** Runs `fleet-login-agent sync` and returns its exit code and its stderr log. */
  sync(): Promise<{ code: number; log: string }>;
  installedSerial(): Promise<number | undefined>;
  currentManifest(): Promise<Manifest | undefined>;
}

/** Creates a bundle folder and one host root with a keyring, and points the built agent at both. */
async function createFleet(): Promise<Fleet> {
  const folder = await tempDir('fleet-login-rotation-');
  const storeFolder = join(folder, 'bundles');
  const root = join(folder, 'root');
  const keyringFile = join(folder, 'keyring.pem');
  const configPath = join(folder, 'agent.json');
  await mkdir(join(root, 'etc'), { recursive: true });
  // The agent installs shadow.cache for the shadow group, so the host root must declare it.
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nshadow:x:42:\n');
  await writeFile(
    configPath,
    JSON.stringify({
      hostClass: 'general',
      source: { type: 'folder', path: storeFolder },
      keyringFile,
      root,
    }),
  );
  const store = new LocalFolderStore(storeFolder);

  const agent = async (args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [AGENT, ...args, '--config', configPath]);
      return { code: 0, stdout, log: stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', log: failed.stderr ?? '' };
    }
  };

  return {
    store,
    async publish(key, people, at) {
      const snapshot = { people, groups: [], readAt: at.toISOString() };
      const [result] = await publishBundles({ snapshot, policy: POLICY, store, signingKey: key, now: at });
      if (!result) throw new Error('the policy has no host class');
      return result;
    },
    trust: (...keys) => writeFile(keyringFile, keys.map((key) => key.publicKeyPem).join('')),
    async sync() {
      const { code, log } = await agent(['sync']);
      return { code, log };
    },
    async installedSerial() {
      const status = JSON.parse((await agent(['status', '--json'])).stdout) as {
        installed?: { serial: number };
      };
      return status.installed?.serial;
    },
    async currentManifest() {
      const object = await store.get('manifests/general.json');
      return object.kind === 'found' ? readManifestUnverified(object.body) : undefined;
    },
  };
}

const people = [makePerson('ana', 100_000), makePerson('ben', 100_001)];
const withNewcomer = [...people, makePerson('cleo', 100_002)];

describe('bundle signing-key rotation', () => {
  it('accepts both keys during the overlap', async () => {
    const fleet = await createFleet();
    const oldKey = newSigningKey();
    const newKey = newSigningKey();
    const start = Date.now() - 0.8 * LIFETIME_HOURS * HOUR_MS;

    // 1. The fleet runs on the old key.
    await fleet.trust(oldKey);
    await fleet.publish(oldKey, people, new Date(start));
    expect((await fleet.sync()).code).toBe(EXIT.ok);

    // 2. Hosts get a keyring with both keys, so the old-key bundle still verifies.
    await fleet.trust(oldKey, newKey);
    expect((await fleet.sync()).code).toBe(EXIT.ok);
    expect(await fleet.installedSerial()).toBe(1);

    // 3. The publisher switches keys. With no change and a fresh manifest, nothing is re-signed yet.
    const early = await fleet.publish(newKey, people, new Date(start + HOUR_MS));
    expect(early.outcome).toBe('unchanged');
    expect((await fleet.currentManifest())?.keyId).toBe(oldKey.keyId);

    // 4. Past half the bundle lifetime the publisher re-signs with the new key, and hosts take it.
    const resigned = await fleet.publish(newKey, people, new Date());
    expect(resigned.outcome).toBe('published');
    expect((await fleet.currentManifest())?.keyId).toBe(newKey.keyId);
    expect((await fleet.sync()).code).toBe(EXIT.ok);
    expect(await fleet.installedSerial()).toBe(2);
  });

  it('rejects the old key once removed', async () => {
    const fleet = await createFleet();
    const oldKey = newSigningKey();
    const newKey = newSigningKey();
    await fleet.trust(oldKey, newKey);
    await fleet.publish(newKey, people, new Date(Date.now() - HOUR_MS));
    expect((await fleet.sync()).code).toBe(EXIT.ok);

    // 5. The old key leaves the keyring, and bundles signed by the new key keep arriving.
    await fleet.trust(newKey);
    expect((await fleet.sync()).code).toBe(EXIT.ok);

    // 6. A bundle signed by the old key (a stale publisher, or a leaked key) changes nothing.
    const stale = await fleet.publish(oldKey, withNewcomer, new Date());
    expect(stale.outcome).toBe('published');
    const rejected = await fleet.sync();
    expect(rejected.code).toBe(EXIT.rejected);
    expect(rejected.log).toContain(`signed by key ${oldKey.keyId}, which is not in the keyring`);
    expect(await fleet.installedSerial()).toBe(1);

    // 7. The next change, published with the new key, installs again. Without a change the
    // publisher would keep the old-key manifest until half its lifetime has passed.
    const next = await fleet.publish(newKey, people, new Date(Date.now() + 1000));
    expect(next.outcome).toBe('published');
    expect((await fleet.sync()).code).toBe(EXIT.ok);
    expect(await fleet.installedSerial()).toBe(3);
  });

  it('rejects the new key before distribution', async () => {
    const fleet = await createFleet();
    const oldKey = newSigningKey();
    const newKey = newSigningKey();
    await fleet.trust(oldKey);
    await fleet.publish(oldKey, people, new Date(Date.now() - HOUR_MS));
    expect((await fleet.sync()).code).toBe(EXIT.ok);

    // Switching the signing key before every keyring contains the new key stops those hosts' updates.
    await fleet.publish(newKey, withNewcomer, new Date());
    const rejected = await fleet.sync();
    expect(rejected.code).toBe(EXIT.rejected);
    expect(rejected.log).toContain(`signed by key ${newKey.keyId}, which is not in the keyring`);
    expect(await fleet.installedSerial()).toBe(1);
  });
});
