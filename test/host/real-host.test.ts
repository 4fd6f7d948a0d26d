// End to end on real host parts: the built agent installs a bundle that the real libnss-cache
// and a real sshd (with the agent as AuthorizedKeysCommand) use, inside a private mount namespace.
// It also covers a bundle name that a local account already has.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../scripts/build-agent.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { type HostNamespace, withHostNamespace } from '../harness/host-namespace.ts';
import {
  createSshKey,
  installAgentForSshd,
  type RunningSshd,
  readRecordedSyslog,
  type SshKey,
  sshCommand,
  startSshd,
} from '../harness/sshd.ts';
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

/** A local account that the test adds to the namespace's /etc/passwd, /etc/group and /etc/shadow. */
const LOCAL_ACCOUNT = { name: 'dbadmin', uid: 990 };

/** Appends LOCAL_ACCOUNT to the overlay's account files, as a package's postinst would. */
async function addLocalAccount(host: HostNamespace): Promise<void> {
  const { name, uid } = LOCAL_ACCOUNT;
  const script = `set -eu
echo '${name}:x:${uid}:${uid}:Local database admin:/:/bin/bash' >> /etc/passwd
echo '${name}:x:${uid}:' >> /etc/group
echo '${name}:*:19000:0:99999:7:::' >> /etc/shadow`;
  const added = await host.run('bash', ['-c', script]);
  expect(added.code, added.stderr).toBe(0);
}

describe('fleet-login-agent with a local account of the same name', () => {
  it('rejects a bundle key for a local account', async () => {
    await withHostNamespace(async (host) => {
      // 1. The name must be free on this machine, or the test would prove nothing.
      expect((await host.run('getent', ['passwd', LOCAL_ACCOUNT.name])).code).toBe(2);
      const signer = createTestSigner();
      const { configPath, store } = await setUpAgent(host, signer.publicKeyPem);
      const intruderKey = await createSshKey(join(host.scratch, 'keys'), 'intruder');
      const anaKey = await createSshKey(join(host.scratch, 'keys'), 'ana');
      const people = [
        makePerson(LOCAL_ACCOUNT.name, 52010, { sshPublicKeys: [intruderKey.publicKey] }),
        makePerson('ana.lopez', 52001, { sshPublicKeys: [anaKey.publicKey] }),
      ];
      await publishTestBundle(store, signer.signingKey, {
        hostClass: 'general',
        serial: 1,
        files: renderNssFiles(people, []),
      });
      const sync = await host.run('/usr/bin/node', [agentPath, 'sync', '--config', configPath]);
      expect(sync.code, sync.stderr).toBe(0);
      await addLocalAccount(host);
      const resolved = await host.run('getent', ['passwd', LOCAL_ACCOUNT.name]);
      expect(resolved.stdout.split(':')[2]).toBe(String(LOCAL_ACCOUNT.uid));

      // 2. Control: with the name alone (%u), sshd lets the bundle key in as the local account.
      const command = await installAgentForSshd(host, agentPath);
      expect(command).toMatch(/ authorized-keys %u %U$/);
      const nameOnly = await startSshd(host, { authorizedKeysCommand: command.replace(/ %U$/, '') });
      try {
        const hijack = await loginAs(host, nameOnly, LOCAL_ACCOUNT.name, intruderKey);
        expect(hijack.stdout, `${hijack.stderr}\n${nameOnly.log()}`).toMatch(/^uid=990\(dbadmin\)/);
      } finally {
        await nameOnly.stop();
      }

      // 3. With the shipped %u %U, the same key is refused and sshd logs why.
      const sshd = await startSshd(host, { authorizedKeysCommand: command });
      try {
        const refused = await loginAs(host, sshd, LOCAL_ACCOUNT.name, intruderKey);
        expect(refused.stdout).not.toContain('uid=');
        expect(refused.code).toBe(255);
        expect(sshd.log()).toContain('the name belongs to a local account with another uid');
        expect(await readRecordedSyslog(host)).toContain(
          `-t fleet-login-agent -p auth.warning -- keys of ${LOCAL_ACCOUNT.name} not printed: the name belongs to a local account with uid ${LOCAL_ACCOUNT.uid}, and the bundle gives uid 52010`,
        );

        const ana = await loginAs(host, sshd, 'ana.lopez', anaKey);
        expect(ana.stdout, `${ana.stderr}\n${sshd.log()}`).toMatch(/^uid=52001\(ana\.lopez\)/);
        expect(ana.code).toBe(0);
      } finally {
        await sshd.stop();
      }
    });
  });
});

function loginAs(host: HostNamespace, sshd: RunningSshd, user: string, key: SshKey) {
  return sshCommand(host, { user, port: sshd.port, key, command: 'id' });
}
