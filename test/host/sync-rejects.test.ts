// The agent rejects bad bundles with a non-zero exit naming the check, and changes no installed file.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { fileObjectKey, manifestObjectKey, signManifest } from '../../shared/bundle/manifest.ts';
import { type AgentRoot, createAgentRoot, snapshotTree } from './agent-root.ts';
import { createTestSigner, makePerson, publishTestBundle, renderNssFiles } from './bundle-fixture.ts';

const INSTALLED_SERIAL = 5;
const people = [
  makePerson('ana', 50001, { sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAna ana@laptop'] }),
];
const groups = [{ name: 'ana', gidNumber: 50001, members: [] }];
const newPeople = [...people, makePerson('bruno', 50002)];

let host: AgentRoot;

beforeEach(async () => {
  host = await createAgentRoot();
  await host.publish({ serial: INSTALLED_SERIAL, files: renderNssFiles(people, groups) });
  const first = await host.sync();
  expect(first.code, first.stderr).toBe(EXIT.ok);
});

afterEach(async () => {
  await host.cleanup();
});

/** Ways to put a bad manifest in the store, each named by the check that must catch it. */
const badBundles: [string, string, () => Promise<void>][] = [
  [
    'a file whose hash does not match',
    'file-hash',
    async () => {
      const { manifest } = await host.publish({ serial: 6, files: renderNssFiles(newPeople, groups) });
      const entry = manifest.files['passwd.cache'];
      if (!entry) throw new Error('the bundle has no passwd.cache');
      const tampered = Buffer.alloc(entry.size, 'x');
      await writeFile(join(host.storeFolder, fileObjectKey(entry.sha256)), tampered);
    },
  ],
  [
    'a bad signature',
    'signature',
    async () => {
      const { envelope } = await host.publish({ serial: 6, files: renderNssFiles(newPeople, groups) });
      const parsed = JSON.parse(envelope.toString());
      parsed.payload = parsed.payload.replace('"serial":6', '"serial":7');
      await host.store.put(manifestObjectKey('general'), `${JSON.stringify(parsed)}\n`);
    },
  ],
  [
    'an unknown key id',
    'key-id',
    async () => {
      const stranger = createTestSigner();
      await publishTestBundle(host.store, stranger.signingKey, {
        hostClass: 'general',
        serial: 6,
        files: renderNssFiles(newPeople, groups),
      });
    },
  ],
  [
    'a lower serial',
    'serial',
    async () => {
      await host.publish({ serial: INSTALLED_SERIAL - 1, files: renderNssFiles(newPeople, groups) });
    },
  ],
  [
    'the installed serial with different contents',
    'serial',
    async () => {
      await host.publish({ serial: INSTALLED_SERIAL, files: renderNssFiles(newPeople, groups) });
    },
  ],
  [
    'an expired manifest',
    'expiry',
    async () => {
      const issuedAt = new Date(Date.now() - 3 * 60 * 60 * 1000);
      const expiresAt = new Date(Date.now() - 60 * 1000);
      await host.publish({ serial: 6, files: renderNssFiles(newPeople, groups), issuedAt, expiresAt });
    },
  ],
  [
    "another class's manifest",
    'host-class',
    async () => {
      const { manifest } = await host.publish({
        hostClass: 'bastion',
        serial: 6,
        files: renderNssFiles(newPeople, groups),
      });
      await host.store.put(manifestObjectKey('general'), signManifest(manifest, host.signer.signingKey));
    },
  ],
];

describe('fleet-login-agent sync rejections', () => {
  it.each(badBundles)(
    'rejects %s (check %s) and changes no installed file',
    async (_case, check, makeBad) => {
      const before = await snapshotTree(host.root);
      await makeBad();

      const result = await host.sync();

      expect(result.code).toBe(EXIT.rejected);
      const failure = result.logs.find((line) => line.message === 'sync failed');
      expect(failure?.check).toBe(check);
      expect(await snapshotTree(host.root)).toEqual(before);
    },
  );

  it('records the failed check in status as the last error', async () => {
    await host.publish({ serial: INSTALLED_SERIAL - 1, files: renderNssFiles(newPeople, groups) });
    await host.sync();

    const status = await host.run(['status', '--json', '--config', host.configPath]);

    const report = JSON.parse(status.stdout);
    expect(report.installed.serial).toBe(INSTALLED_SERIAL);
    expect(report.lastError.check).toBe('serial');
    expect(report.lastError.message).toContain('lower than the installed serial 5');
  });

  it('exits 3 when the manifest is missing', async () => {
    const before = await snapshotTree(host.root);
    await host.store.delete(manifestObjectKey('general'));

    const result = await host.sync();

    expect(result.code).toBe(EXIT.fetchFailed);
    expect(result.logs.find((line) => line.message === 'sync failed')?.check).toBe('fetch');
    expect(await snapshotTree(host.root)).toEqual(before);
  });

  it('exits 3 when a file object is missing', async () => {
    const before = await snapshotTree(host.root);
    const { manifest } = await host.publish({ serial: 6, files: renderNssFiles(newPeople, groups) });
    // passwd.cache differs from the installed one, so the agent must download it.
    await host.store.delete(fileObjectKey(manifest.files['passwd.cache']?.sha256 ?? ''));

    const result = await host.sync();

    expect(result.code).toBe(EXIT.fetchFailed);
    expect(result.stderr).toContain('passwd.cache is missing from the store');
    expect(await snapshotTree(host.root)).toEqual(before);
  });

  it('retries a manifest that failed, instead of skipping it as not modified', async () => {
    const { manifest } = await host.publish({ serial: 6, files: renderNssFiles(newPeople, groups) });
    const key = fileObjectKey(manifest.files['passwd.cache']?.sha256 ?? '');
    const passwd = await host.store.get(key);
    await host.store.delete(key);
    expect((await host.sync()).code).toBe(EXIT.fetchFailed);
    if (passwd.kind !== 'found') throw new Error('passwd.cache was not stored');
    await host.store.put(key, passwd.body);

    const retry = await host.sync();

    expect(retry.code, retry.stderr).toBe(EXIT.ok);
    expect(retry.logs.some((line) => line.message === 'bundle installed' && line.serial === 6)).toBe(true);
  });
});
