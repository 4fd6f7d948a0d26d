// What a sync checks when the store still serves the installed manifest (304, or the same bytes):
// the manifest against the current keyring and its expiry, the links in /etc, and the files.

import { chmod, lstat, readFile, readlink, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { agentLayout, LINK_PATHS } from '../../host/layout.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { type AgentRoot, createAgentRoot, snapshotTree } from './agent-root.ts';
import { createTestSigner, makePerson, renderNssFiles } from './bundle-fixture.ts';

const HOUR_MS = 60 * 60 * 1000;
const people = [
  makePerson('ana', 50001, { sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAna ana@laptop'] }),
  makePerson('bruno', 50002),
];
const groups = [{ name: 'sre', gidNumber: 53001, members: ['ana', 'bruno'] }];

let host: AgentRoot;
let files: Map<BundleFileName, Buffer>;

beforeEach(async () => {
  host = await createAgentRoot();
  files = renderNssFiles(people, groups);
  await host.publish({ serial: 1, files });
  const first = await host.sync();
  expect(first.code, first.stderr).toBe(EXIT.ok);
});

afterEach(async () => {
  await host.cleanup();
});

/** Path of a bundle file inside the live generation, where the links in /etc lead. */
function liveFile(name: BundleFileName): string {
  return join(agentLayout(host.root).current, name);
}

async function readState(): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(agentLayout(host.root).stateFile, 'utf8'));
}

function messages(run: { logs: Record<string, unknown>[] }): unknown[] {
  return run.logs.map((line) => line.message);
}

describe('fleet-login-agent sync of an unchanged manifest', () => {
  it('exits 4 and keeps the bundle when the keyring drops its key', async () => {
    const before = await snapshotTree(host.root);
    await writeFile(join(host.folder, 'keyring.pem'), createTestSigner().publicKeyPem);

    const result = await host.sync();

    expect(result.code).toBe(EXIT.rejected);
    const failure = result.logs.find((line) => line.message === 'sync failed');
    expect(failure?.check).toBe('key-id');
    expect(failure?.error).toContain('the installed bundle (serial 1) failed the key-id check again');
    expect(failure?.error).toContain('It stays installed');
    expect(await snapshotTree(host.root)).toEqual(before);
    const status = JSON.parse((await host.run(['status', '--json', '--config', host.configPath])).stdout);
    expect(status.installed.serial).toBe(1);
    expect(status.lastError.check).toBe('key-id');
  });

  it('exits 4 once the installed bundle has expired', async () => {
    const later = new Date(Date.now() + 8 * 24 * HOUR_MS);

    const result = await host.sync({ now: () => later });

    expect(result.code).toBe(EXIT.rejected);
    expect(result.logs.find((line) => line.message === 'sync failed')?.check).toBe('expiry');
    expect(await host.readInstalled('passwd.cache')).toEqual(files.get('passwd.cache'));
  });

  it('clears the last error on the next clean poll', async () => {
    const keyring = join(host.folder, 'keyring.pem');
    const trusted = await readFile(keyring, 'utf8');
    await writeFile(keyring, createTestSigner().publicKeyPem);
    expect((await host.sync()).code).toBe(EXIT.rejected);
    await writeFile(keyring, trusted);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(messages(result)).toContain('manifest not modified');
    expect((await readState()).lastError).toBeUndefined();
  });

  it('restores a deleted cache link', async () => {
    await rm(join(host.root, 'etc/passwd.cache'));

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(messages(result)).toContain('manifest not modified');
    expect(result.logs.find((line) => line.message === 'links repaired')?.links).toEqual(['passwd.cache']);
    expect(await readlink(join(host.root, 'etc/passwd.cache'))).toBe(
      '../var/lib/fleet-login/current/passwd.cache',
    );
    expect(await host.readInstalled('passwd.cache')).toEqual(files.get('passwd.cache'));
  });

  it('replaces a link that points elsewhere', async () => {
    const linkPath = join(host.root, LINK_PATHS['sshkey.cache']);
    await writeFile(join(host.folder, 'planted-keys'), 'ana:ssh-ed25519 AAAAplanted\n');
    await rm(linkPath);
    await symlink(join(host.folder, 'planted-keys'), linkPath);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(await host.readInstalled('sshkey.cache')).toEqual(files.get('sshkey.cache'));
  });

  it('reinstalls a file edited by hand', async () => {
    const generation = await readlink(agentLayout(host.root).current);
    await writeFile(join(host.root, 'etc/passwd.cache'), 'mallory:x:0:0::/root:/bin/bash\n', { flag: 'a' });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const damage = result.logs.find((line) => line.message === 'installed files damaged; reinstalling them');
    expect(damage?.files).toEqual(['passwd.cache']);
    expect(await host.readInstalled('passwd.cache')).toEqual(files.get('passwd.cache'));
    expect(await readlink(agentLayout(host.root).current)).toMatch(new RegExp(`^${generation}-r[0-9a-z]+$`));
  });

  it('reinstalls a file whose mode changed', async () => {
    await chmod(liveFile('shadow.cache'), 0o644);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect((await stat(join(host.root, 'etc/shadow.cache'))).mode & 0o777).toBe(0o640);
  });

  it('notices an edit that keeps the size and mtime', async () => {
    const path = liveFile('sshkey.cache');
    const original = await stat(path);
    const bytes = await readFile(path);
    bytes[bytes.length - 2] = bytes[bytes.length - 2] === 0x41 ? 0x42 : 0x41;
    await writeFile(path, bytes);
    await utimes(path, original.atime, original.mtime);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(await host.readInstalled('sshkey.cache')).toEqual(files.get('sshkey.cache'));
  });

  it('reinstalls a deleted stand-in drop-in', async () => {
    await rm(liveFile('sudoers'));

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect((await lstat(liveFile('sudoers'))).isFile()).toBe(true);
  });

  it('records file stamps once when state.json has none', async () => {
    const state = await readState();
    delete state.installed;
    await writeFile(agentLayout(host.root).stateFile, JSON.stringify(state));

    const restamp = await host.sync();
    const stateAfter = await stat(agentLayout(host.root).stateFile);
    const quiet = await host.sync();

    expect(restamp.code, restamp.stderr).toBe(EXIT.ok);
    expect(Object.keys((await readState()).installed as object)).toContain('files');
    expect(quiet.code).toBe(EXIT.ok);
    expect((await stat(agentLayout(host.root).stateFile)).mtimeMs).toBe(stateAfter.mtimeMs);
  });

  it('checks the files when the same manifest is fetched in full', async () => {
    await writeFile(join(host.root, 'etc/group.cache'), 'wheel:x:10:mallory\n', { flag: 'a' });
    await rm(agentLayout(host.root).stateFile);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.logs.find((line) => line.message === 'manifest verified')?.verdict).toBe('unchanged');
    expect(await host.readInstalled('group.cache')).toEqual(files.get('group.cache'));
  });
});
