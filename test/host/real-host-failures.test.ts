// The built agent on file systems that refuse writes, inside a private mount namespace: a read-only
// or full lock folder and a read-only state folder. Each must exit 5 with one line naming the path.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { buildAgent } from '../../scripts/build-agent.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { type HostNamespace, type RunResult, withHostNamespace } from '../harness/host-namespace.ts';
import { createTestSigner, makePerson, publishTestBundle, renderNssFiles } from './bundle-fixture.ts';

const LOCK_FILE = '/run/fleet-login/agent.lock';
const STATE_FILE = '/var/lib/fleet-login/state.json';

let buildFolder: string;
let agentPath: string;

beforeAll(async () => {
  buildFolder = await mkdtemp(join(tmpdir(), 'fleet-login-agent-build-'));
  agentPath = await buildAgent(join(buildFolder, 'fleet-login-agent.mjs'));
});

afterAll(async () => {
  await rm(buildFolder, { recursive: true, force: true });
});

interface InstalledHost {
  /** Runs the agent with `args` and the test config. */
  agent(...args: string[]): Promise<RunResult>;
  /** Publishes a bundle one serial higher than the installed one. */
  publishNext(): Promise<void>;
}

/** Installs serial 1 on the namespace's real root and returns helpers for the next steps. */
async function installFirstBundle(host: HostNamespace): Promise<InstalledHost> {
  const signer = createTestSigner();
  const storeFolder = join(host.scratch, 'store');
  await mkdir(storeFolder, { mode: 0o755 });
  const store = new LocalFolderStore(storeFolder);
  const keyringFile = join(host.scratch, 'keyring.pem');
  await writeFile(keyringFile, signer.publicKeyPem);
  const configPath = join(host.scratch, 'agent.json');
  const config = {
    hostClass: 'general',
    source: { type: 'folder', path: storeFolder },
    keyringFile,
    root: '/',
  };
  await writeFile(configPath, JSON.stringify(config));

  const publish = (serial: number, people: string[]) =>
    publishTestBundle(store, signer.signingKey, {
      hostClass: 'general',
      serial,
      files: renderNssFiles(
        people.map((name, index) => makePerson(name, 52001 + index)),
        [],
      ),
    });
  const agent = (...args: string[]) =>
    host.run('/usr/bin/node', [agentPath, ...args, '--config', configPath]);
  await publish(1, ['ana']);
  const first = await agent('sync');
  expect(first.code, first.stderr).toBe(EXIT.ok);
  return { agent, publishNext: async () => void (await publish(2, ['ana', 'bruno'])) };
}

async function mountOrFail(host: HostNamespace, script: string): Promise<void> {
  const result = await host.run('bash', ['-c', `set -eu\n${script}`]);
  expect(result.code, result.stderr).toBe(0);
}

function logLines(result: RunResult): Record<string, unknown>[] {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Checks the one-line failure: exit 5, check install, the given text, and no stack trace. */
function expectInstallFailure(result: RunResult, error: string): void {
  expect(result.code, result.stderr).toBe(EXIT.installFailed);
  const failures = logLines(result).filter((line) => line.level === 'error');
  expect(failures).toHaveLength(1);
  expect(failures[0]).toMatchObject({ message: 'sync failed', check: 'install', error });
  expect(result.stderr).not.toContain('"stack"');
}

describe('fleet-login-agent on file systems that refuse writes', () => {
  it('exits 5 naming the lock on a read-only /run', async () => {
    await withHostNamespace(async (host) => {
      const installed = await installFirstBundle(host);
      await mountOrFail(host, 'mount -t tmpfs -o ro,mode=755 tmpfs /run/fleet-login');
      await installed.publishNext();

      const result = await installed.agent('sync');

      expectInstallFailure(result, `read-only file system (EROFS): ${LOCK_FILE}`);
      const status = JSON.parse((await installed.agent('status', '--json')).stdout);
      expect(status.lastError).toMatchObject({
        check: 'install',
        message: expect.stringContaining(LOCK_FILE),
      });
      expect(status.installed.serial).toBe(1);
    });
  });

  it('exits 5 naming the lock on a full /run and leaves no lock', async () => {
    await withHostNamespace(async (host) => {
      const installed = await installFirstBundle(host);
      // dd stops with "No space left on device", which is the point, so its exit code is ignored.
      await mountOrFail(
        host,
        'mount -t tmpfs -o size=4k,mode=755 tmpfs /run/fleet-login\ndd if=/dev/zero of=/run/fleet-login/filler bs=4k count=4 2>/dev/null || true',
      );
      await installed.publishNext();

      const result = await installed.agent('sync');

      expectInstallFailure(result, `no space left on device (ENOSPC): ${LOCK_FILE}`);
      expect((await host.run('test', ['-e', LOCK_FILE])).code).toBe(1);
      const status = JSON.parse((await installed.agent('status', '--json')).stdout);
      expect(status.lastError.message).toContain('ENOSPC');
    });
  });

  it('says on stderr when state.json cannot record the failure', async () => {
    await withHostNamespace(async (host) => {
      const installed = await installFirstBundle(host);
      await mountOrFail(
        host,
        [
          'mount -t tmpfs -o ro,mode=755 tmpfs /run/fleet-login',
          'mount --bind /var/lib/fleet-login /var/lib/fleet-login',
          'mount -o remount,bind,ro /var/lib/fleet-login',
        ].join('\n'),
      );

      const result = await installed.agent('sync');

      expectInstallFailure(result, `read-only file system (EROFS): ${LOCK_FILE}`);
      const warning = logLines(result).find((line) => line.phase === 'state');
      expect(warning).toMatchObject({ level: 'warn', path: STATE_FILE });
      expect(warning?.error).toContain('EROFS');
    });
  });
});
