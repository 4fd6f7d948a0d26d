// Host classes on real host parts: the built agent syncs from an S3-protocol server on loopback
// inside a private mount namespace, then real sudo, sshd and libnss-cache use what it installed.

import { readFile } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import type { DirectorySnapshot } from '../../shared/directory/model.ts';
import { generateSnapshot } from '../bench/generate.ts';
import { type HostNamespace, type RunResult, withHostNamespace } from '../harness/host-namespace.ts';
import {
  createSshKey,
  installAgentForSshd,
  openSshTunnel,
  type SshKey,
  sshCommand,
  startSshd,
} from '../harness/sshd.ts';
import {
  ADMIN_COMMANDS,
  agentEnvironment,
  buildAgentInto,
  makeSnapshot,
  NO_SHELL,
  parseLogs,
  type S3Bundles,
  s3AgentConfig,
  startS3Bundles,
} from './s3-fixture.ts';

const NO_SHELL_SOURCE = new URL('../../host/bin/fleet-login-no-shell', import.meta.url);

let build: Awaited<ReturnType<typeof buildAgentInto>>;
let bundles: S3Bundles;

beforeAll(async () => {
  build = await buildAgentInto();
});

afterAll(async () => {
  await build.cleanup();
});

beforeEach(async () => {
  bundles = await startS3Bundles();
});

afterEach(async () => {
  await bundles.stop();
});

/** Writes the keyring and an s3 config for `hostClass` with root `/`; returns a sync runner. */
async function configureAgent(host: HostNamespace, hostClass: string): Promise<() => Promise<RunResult>> {
  const keyringFile = join(host.scratch, 'keyring.pem');
  await host.writeFile(keyringFile, bundles.signer.publicKeyPem);
  const configPath = join(host.scratch, 'agent.json');
  const config = s3AgentConfig({ hostClass, endpoint: bundles.proxy.endpoint, keyringFile, root: '/' });
  await host.writeFile(configPath, JSON.stringify(config));
  return () =>
    host.run('/usr/bin/node', [build.agentPath, 'sync', '--config', configPath], { env: agentEnvironment() });
}

/** Publishes the snapshot and syncs the namespace's host as `hostClass`; fails the test on error. */
async function installClass(host: HostNamespace, hostClass: string, snapshot: DirectorySnapshot) {
  await bundles.publish(snapshot);
  const sync = await configureAgent(host, hostClass);
  const result = await sync();
  expect(result.code, result.stderr).toBe(EXIT.ok);
  return sync;
}

/** Starts a TCP server on 127.0.0.1 that writes back whatever it reads. */
async function startEchoServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the echo server has no port');
  return { port: address.port, server };
}

/** Sends `text` to 127.0.0.1:port and returns what comes back before the first newline. */
function roundTrip(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no echo within 5 s')));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('\n')) {
        socket.end();
        resolve(received.split('\n')[0] ?? '');
      }
    });
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => socket.write(`${text}\n`));
  });
}

async function keysFor(host: HostNamespace, names: string[]): Promise<Record<string, SshKey>> {
  const keys: Record<string, SshKey> = {};
  for (const name of names) keys[name] = await createSshKey(join(host.scratch, 'keys'), name);
  return keys;
}

function publicKeys(keys: Record<string, SshKey>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(keys).map(([name, key]) => [name, [key.publicKey]]));
}

describe('host classes on a real host', () => {
  it('grants sudo to admins only, as the policy says', async () => {
    await withHostNamespace(async (host) => {
      await installClass(host, 'prod-admin', makeSnapshot());

      const admin = await host.run('sudo', ['-l', '-U', 'ana']);
      const readOnly = await host.run('sudo', ['-l', '-U', 'bruno']);

      expect(admin.stdout, admin.stderr).toContain('User ana may run the following commands');
      expect(admin.stdout).toContain(`(root) NOPASSWD: ${ADMIN_COMMANDS.join(', ')}`);
      // sudo -l exits 0 whether or not the user may run anything, so the text is the verdict.
      expect(readOnly.stdout, readOnly.stderr).toMatch(/User bruno is not allowed to run sudo/);
      expect((await host.run('getent', ['passwd', 'bruno'])).code).toBe(0);
    });
  });

  it('allows bastion tunnels but no shell', async () => {
    await withHostNamespace(async (host) => {
      const keys = await keysFor(host, ['ana']);
      await installClass(host, 'bastion', makeSnapshot(publicKeys(keys)));
      await host.writeFile(NO_SHELL, await readFile(NO_SHELL_SOURCE), 0o755);
      const sshd = await startSshd(host, {
        authorizedKeysCommand: await installAgentForSshd(host, build.agentPath),
      });
      const echo = await startEchoServer();
      try {
        const login = { user: 'ana', port: sshd.port, key: keys.ana as SshKey };
        const shell = await sshCommand(host, { ...login, command: 'id' });
        expect(shell.stdout).not.toContain('uid=');
        expect(shell.stderr, sshd.log()).toContain(
          'this is a bastion host; shells and commands are disabled',
        );
        expect(shell.code).toBe(1);

        const tunnel = await openSshTunnel(host, { ...login, targetPort: echo.port });
        try {
          expect(await roundTrip(tunnel.localPort, 'through the bastion')).toBe('through the bastion');
        } finally {
          await tunnel.stop();
        }
      } finally {
        echo.server.close();
        await sshd.stop();
      }
    });
  });

  it('gives a general-class person a shell', async () => {
    await withHostNamespace(async (host) => {
      const keys = await keysFor(host, ['dana']);
      await installClass(host, 'general', makeSnapshot(publicKeys(keys)));
      const sshd = await startSshd(host, {
        authorizedKeysCommand: await installAgentForSshd(host, build.agentPath),
      });
      try {
        const login = await sshCommand(host, {
          user: 'dana',
          port: sshd.port,
          key: keys.dana as SshKey,
          command: 'id',
        });
        expect(login.stdout, `${login.stderr}\n${sshd.log()}`).toMatch(
          /^uid=60004\(dana\) gid=60004\(dana\)/,
        );
        expect(login.code).toBe(0);
      } finally {
        await sshd.stop();
      }
    });
  });
});

describe('fleet-login-agent on a full disk', () => {
  it('keeps installed files byte-identical when the disk fills', async () => {
    await withHostNamespace(async (host) => {
      // 256 KiB has room for two generations of the small bundle but not for one of 2,000 people.
      const mounted = await host.run('bash', [
        '-c',
        'mkdir -p /var/lib/fleet-login && mount -t tmpfs -o size=256k,mode=755 tmpfs /var/lib/fleet-login',
      ]);
      expect(mounted.code, mounted.stderr).toBe(0);
      const sync = await installClass(host, 'general', makeSnapshot());
      const before = await installedFiles(host);

      await bundles.publish(generateSnapshot(2_000, 20));
      const full = await sync();

      expect(full.code, full.stderr).toBe(EXIT.installFailed);
      const failure = parseLogs(full.stderr).find((line) => line.message === 'sync failed');
      expect(failure?.cause).toMatch(/ENOSPC/);
      expect(await installedFiles(host)).toEqual(before);
      expect((await host.run('getent', ['passwd', 'ana'])).stdout).toMatch(/^ana:x:60001:/);

      // With room again, the next run installs the new bundle.
      await host.run('mount', ['-o', 'remount,size=16m', '/var/lib/fleet-login']);
      const resumed = await sync();
      expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
      expect((await host.run('getent', ['passwd', 'user001999'])).code).toBe(0);
    });
  });
});

/** Lists, inside the namespace, each installed link's target and content hash and the generations. */
async function installedFiles(host: HostNamespace): Promise<string> {
  const script = `set -eu
cd /
for link in etc/*.cache* etc/sudoers.d/fleet-login etc/ssh/emergency_authorized_keys var/lib/fleet-login/current; do
  echo "$link -> $(readlink "$link")"
done
sha256sum etc/*.cache* etc/sudoers.d/fleet-login etc/ssh/emergency_authorized_keys
find var/lib/fleet-login/generations -type f -printf '%p %s %m\\n' | sort`;
  const result = await host.run('bash', ['-c', script]);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}
