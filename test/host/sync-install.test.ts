// How the agent installs: generation folders behind one `current` link, modes, ordering and crash safety.

import { lstat, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { INSTALL_STEPS } from '../../host/install.ts';
import { agentLayout, LINK_PATHS } from '../../host/layout.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { type AgentRoot, createAgentRoot, snapshotTree, TEST_SHADOW_GID } from './agent-root.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const ana = makePerson('ana', 50001, {
  sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAna ana@laptop'],
});
const bruno = makePerson('bruno', 50002, {
  sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBru bruno@desk'],
});
const groups = [{ name: 'sre', gidNumber: 53001, members: ['ana', 'bruno'] }];
let host: AgentRoot;

beforeEach(async () => {
  host = await createAgentRoot();
});

afterEach(async () => {
  await host.cleanup();
});

/** Reads every bundle file through its host path; a missing one maps to undefined. */
async function visibleFiles(
  names: Iterable<BundleFileName>,
): Promise<Map<BundleFileName, Buffer | undefined>> {
  const visible = new Map<BundleFileName, Buffer | undefined>();
  for (const name of names) visible.set(name, await host.readInstalled(name));
  return visible;
}

describe('fleet-login-agent sync install', () => {
  it('installs every file behind links into the current generation', async () => {
    const files = renderNssFiles([ana, bruno], groups);
    await host.publish({ serial: 1, files });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const layout = agentLayout(host.root);
    expect(await readlink(layout.current)).toMatch(/^generations\/1-[0-9a-f]{16}$/);
    for (const [name, bytes] of files) {
      expect(await readlink(join(host.root, LINK_PATHS[name]))).toBe(
        `../var/lib/fleet-login/current/${name}`,
      );
      expect(await host.readInstalled(name)).toEqual(bytes);
    }
  });

  it('gives shadow mode 0640 and the shadow group, the other maps 0644', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();

    const shadow = await stat(join(host.root, 'etc/shadow.cache'));
    expect(shadow.mode & 0o777).toBe(0o640);
    expect(shadow.gid).toBe(TEST_SHADOW_GID);
    expect(shadow.uid).toBe(0);
    for (const name of ['passwd.cache', 'group.cache', 'sshkey.cache', 'passwd.cache.ixname']) {
      expect((await stat(join(host.root, 'etc', name))).mode & 0o777, name).toBe(0o644);
    }
  });

  it('writes each index no earlier than its cache', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana, bruno], groups) });
    await host.sync();

    const pairs = [
      ['passwd.cache', 'passwd.cache.ixname'],
      ['passwd.cache', 'passwd.cache.ixuid'],
      ['group.cache', 'group.cache.ixname'],
      ['group.cache', 'group.cache.ixgid'],
      ['shadow.cache', 'shadow.cache.ixname'],
    ];
    for (const [cache, index] of pairs) {
      const cacheTime = (await stat(join(host.root, 'etc', cache as string))).mtimeMs;
      const indexTime = (await stat(join(host.root, 'etc', index as string))).mtimeMs;
      expect(indexTime, index).toBeGreaterThanOrEqual(cacheTime);
    }
  });

  it('copies the signed manifest into the generation and records the success', async () => {
    const { envelope } = await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();

    const layout = agentLayout(host.root);
    expect(await readFile(join(layout.current, 'manifest.json'))).toEqual(envelope);
    const state = JSON.parse(await readFile(layout.stateFile, 'utf8'));
    expect(state.manifestEtag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(Date.parse(state.lastSuccessAt)).not.toBeNaN();
  });

  it('writes nothing when the manifest is not modified', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();
    const before = await snapshotTree(host.root);
    const stateBefore = await stat(agentLayout(host.root).stateFile);

    const again = await host.sync();

    expect(again.code).toBe(EXIT.ok);
    expect(again.logs.map((line) => line.message)).toContain('manifest not modified');
    expect(await snapshotTree(host.root)).toEqual(before);
    expect((await stat(agentLayout(host.root).stateFile)).mtimeMs).toBe(stateBefore.mtimeMs);
  });

  it('accepts the installed manifest again without reinstalling when state.json is lost', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();
    const generation = await readlink(agentLayout(host.root).current);
    await rm(agentLayout(host.root).stateFile);

    const again = await host.sync();

    expect(again.code).toBe(EXIT.ok);
    expect(again.logs.find((line) => line.message === 'manifest verified')?.verdict).toBe('unchanged');
    expect(await readlink(agentLayout(host.root).current)).toBe(generation);
  });

  it('keeps the previous generation and deletes older ones', async () => {
    const generations: string[] = [];
    for (const [serial, people] of [
      [1, [ana]],
      [2, [ana, bruno]],
      [3, [bruno]],
    ] as const) {
      await host.publish({ serial, files: renderNssFiles(people, groups) });
      expect((await host.sync()).code).toBe(EXIT.ok);
      generations.push((await readlink(agentLayout(host.root).current)).replace('generations/', ''));
    }

    const kept = (await readdir(agentLayout(host.root).generations)).sort();
    expect(kept).toEqual([generations[1], generations[2]].sort());
  });

  it('downloads only files whose hash the installed generation lacks', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana, bruno], groups) });
    await host.sync();
    // Same people, new keys: only sshkey.cache changes.
    const rekeyed = { ...bruno, sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINew bruno@new'] };
    await host.publish({ serial: 2, files: renderNssFiles([ana, rekeyed], groups) });

    const result = await host.sync();

    expect(result.logs.find((line) => line.message === 'files verified')?.downloaded).toBe(1);
  });

  it('replaces a regular file at a cache path with its link', async () => {
    await writeFile(join(host.root, 'etc/passwd.cache'), 'old:x:1:1::/:/bin/sh\n');
    const files = renderNssFiles([ana], groups);
    await host.publish({ serial: 1, files });

    await host.sync();

    expect((await lstat(join(host.root, 'etc/passwd.cache'))).isSymbolicLink()).toBe(true);
    expect(await host.readInstalled('passwd.cache')).toEqual(files.get('passwd.cache'));
  });

  it.each(INSTALL_STEPS)(
    'leaves the old or the new complete set when install stops at step %s',
    async (failAt) => {
      const oldFiles = renderNssFiles([ana], groups);
      const newFiles = renderNssFiles([ana, bruno], groups);
      await host.publish({ serial: 1, files: oldFiles });
      await host.sync();
      await host.publish({ serial: 2, files: newFiles });

      const stopped = await host.sync({
        onInstallStep: (step) => {
          if (step === failAt) throw new Error(`stopped at ${step}`);
        },
      });

      expect(stopped.code).toBe(EXIT.installFailed);
      const visible = await visibleFiles(newFiles.keys());
      const isOld = [...oldFiles].every(([name, bytes]) => visible.get(name)?.equals(bytes));
      const isNew = [...newFiles].every(([name, bytes]) => visible.get(name)?.equals(bytes));
      expect(isOld || isNew).toBe(true);

      const resumed = await host.sync();
      expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
      for (const [name, bytes] of newFiles) expect(await host.readInstalled(name), name).toEqual(bytes);
    },
  );

  it('exits 7 while another agent runs', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    const layout = agentLayout(host.root);
    await host.sync();
    // The test process itself is alive, so its pid makes a held lock.
    await writeFile(layout.lockFile, `${process.pid}\n`);

    const result = await host.sync();

    expect(result.code).toBe(EXIT.locked);
    expect(result.stderr).toContain(`pid ${process.pid}`);
  });

  it('takes over a lock whose holder is gone', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();
    // Pid numbers this high are above Linux's pid_max (at most 2^22), so no process has one.
    await writeFile(agentLayout(host.root).lockFile, '99999999\n');
    await host.publish({ serial: 2, files: renderNssFiles([ana, bruno], groups) });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
  });
});
