// End to end on real host parts: the built agent installs a bundle that the real libnss-cache
// and a real sshd (with the agent as AuthorizedKeysCommand) use, inside a private mount namespace.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../scripts/build-agent.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { type HostNamespace, withHostNamespace } from '../harness/host-namespace.ts';
import { createSshKey, installAgentForSshd, sshCommand, startSshd } from '../harness/sshd.ts';
import { createTestSigner, makePerson, publishTestBundle, renderNssFiles } from './bundle-fixture.ts';

let buildFolder: string;
let agentPath: string;

beforeAll(async () => {
  buildFolder = await mkdtemp(join(tmpdir(), 'fleet-login-agent-build-'));
  agentPath = await buildAgent(join(buildFolder, 'fleet-login-agent.mjs'));
});

afterAll(async () => {
  await rm(buildFolder, { recursive: true, force: true });
});

/** Writes the store, keyring and agent config into the scratch folder; returns the config path. */
async function setUpAgent(
  host: HostNamespace,
  publicKeyPem: string,
): Promise<{ configPath: string; store: LocalFolderStore }> {
  const storeFolder = join(host.scratch, 'store');
  await mkdir(storeFolder, { mode: 0o755 });
  const keyringFile = join(host.scratch, 'keyring.pem');
  await writeFile(keyringFile, publicKeyPem);
  const configPath = join(host.scratch, 'agent.json');
  const config = {
    hostClass: 'general',
    source: { type: 'folder', path: storeFolder },
    keyringFile,
    root: '/',
  };
  await writeFile(configPath, JSON.stringify(config));
  return { configPath, store: new LocalFolderStore(storeFolder) };
}

describe('fleet-login-agent on a real host', () => {
  it('admits a person, then rejects them once removed', async () => {
    await withHostNamespace(async (host) => {
      const signer = createTestSigner();
      const { configPath, store } = await setUpAgent(host, signer.publicKeyPem);
      const laptop = await createSshKey(join(host.scratch, 'keys'), 'ana-laptop');
      const yubikey = await createSshKey(join(host.scratch, 'keys'), 'ana-yubikey');
      const ana = makePerson('ana.lopez', 52001, {
        displayName: 'Ana López',
        sshPublicKeys: [laptop.publicKey, yubikey.publicKey],
      });
      const bruno = makePerson('bruno', 52002);
      const groups = [
        { name: 'ana.lopez', gidNumber: 52001, members: [] },
        { name: 'bruno', gidNumber: 52002, members: [] },
        { name: 'sre', gidNumber: 53001, members: ['ana.lopez', 'bruno'] },
      ];

      // 1. First bundle: ana and bruno.
      await publishTestBundle(store, signer.signingKey, {
        hostClass: 'general',
        serial: 1,
        files: renderNssFiles([ana, bruno], groups),
      });
      const firstSync = await host.run('/usr/bin/node', [agentPath, 'sync', '--config', configPath]);
      expect(firstSync.stderr).toContain('"bundle installed"');
      expect(firstSync.code).toBe(0);

      // 2. Names and ids resolve through the real libnss-cache.
      const byName = await host.run('getent', ['passwd', 'ana.lopez']);
      expect(byName.stdout.trim()).toBe('ana.lopez:x:52001:52001:Ana López:/home/ana.lopez:/bin/bash');
      const byUid = await host.run('getent', ['passwd', '52001']);
      expect(byUid.stdout.split(':')[0]).toBe('ana.lopez');
      const group = await host.run('getent', ['group', 'sre']);
      expect(group.stdout.trim()).toBe('sre:*:53001:ana.lopez,bruno');
      const byGid = await host.run('getent', ['group', '53001']);
      expect(byGid.stdout.split(':')[0]).toBe('sre');

      // 3. sshd accepts each of ana's keys through the agent's authorized-keys command.
      const sshd = await startSshd(host, {
        authorizedKeysCommand: await installAgentForSshd(host, agentPath),
      });
      try {
        for (const key of [laptop, yubikey]) {
          const login = await sshCommand(host, { user: 'ana.lopez', port: sshd.port, key, command: 'id' });
          expect(login.stdout, `${login.stderr}\n${sshd.log()}`).toMatch(
            /^uid=52001\(ana\.lopez\) gid=52001\(ana\.lopez\)/,
          );
          expect(login.code).toBe(0);
        }

        // 4. Second bundle without ana: the same login is refused.
        await publishTestBundle(store, signer.signingKey, {
          hostClass: 'general',
          serial: 2,
          files: renderNssFiles([bruno], groups),
        });
        const secondSync = await host.run('/usr/bin/node', [agentPath, 'sync', '--config', configPath]);
        expect(secondSync.code, secondSync.stderr).toBe(0);

        const gone = await host.run('getent', ['passwd', 'ana.lopez']);
        expect(gone.code).toBe(2);
        const refused = await sshCommand(host, {
          user: 'ana.lopez',
          port: sshd.port,
          key: laptop,
          command: 'id',
        });
        expect(refused.stdout).not.toContain('uid=');
        expect(refused.code).toBe(255);
      } finally {
        await sshd.stop();
      }
    });
  });
});
