// The optional bundle files: the sudoers drop-in (checked with visudo) and the emergency keys file.

import { spawnSync } from 'node:child_process';
import { readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { ABSENT_FILE_CONTENTS } from '../../host/install.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { type AgentRoot, createAgentRoot, snapshotTree } from './agent-root.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const people = [makePerson('ana', 50001)];
const groups = [{ name: 'sre', gidNumber: 53001, members: ['ana'] }];
const VALID_SUDOERS = '# rules of host class general\n%sre ALL=(root) NOPASSWD: /usr/bin/id\n';
const EMERGENCY_KEYS = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmg break-glass\n';

let host: AgentRoot;

beforeEach(async () => {
  host = await createAgentRoot();
});

afterEach(async () => {
  await host.cleanup();
});

function filesWith(extra: Partial<Record<BundleFileName, string>>): Map<BundleFileName, Buffer> {
  const files = renderNssFiles(people, groups);
  for (const [name, text] of Object.entries(extra)) files.set(name as BundleFileName, Buffer.from(text));
  return files;
}

describe('fleet-login-agent sudoers drop-in', () => {
  it('installs a drop-in that passes visudo as etc/sudoers.d/fleet-login, mode 0440', async () => {
    await host.publish({ serial: 1, files: filesWith({ sudoers: VALID_SUDOERS }) });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const linkPath = join(host.root, 'etc/sudoers.d/fleet-login');
    expect(await readlink(linkPath)).toBe('../../var/lib/fleet-login/current/sudoers');
    expect(await host.readInstalled('sudoers')).toEqual(Buffer.from(VALID_SUDOERS));
    const target = await stat(linkPath);
    expect(target.mode & 0o777).toBe(0o440);
    expect(target.uid).toBe(0);
  });

  it('rejects a bundle whose drop-in fails visudo and changes nothing', async () => {
    await host.publish({ serial: 1, files: filesWith({ sudoers: VALID_SUDOERS }) });
    await host.sync();
    const before = await snapshotTree(host.root);
    await host.publish({ serial: 2, files: filesWith({ sudoers: '%sre ALL=(root NOPASSWD /usr/bin/id\n' }) });

    const result = await host.sync();

    expect(result.code).toBe(EXIT.rejected);
    const failure = result.logs.find((line) => line.message === 'sync failed');
    expect(failure?.check).toBe('format');
    expect(failure?.error).toMatch(/visudo -cf: .*sudoers:1:\d+: syntax error/);
    expect(await snapshotTree(host.root)).toEqual(before);
  });

  it('installs a drop-in without rules when the next bundle has no sudoers file', async () => {
    await host.publish({ serial: 1, files: filesWith({ sudoers: VALID_SUDOERS }) });
    await host.sync();
    await host.publish({ serial: 2, files: filesWith({}) });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(await host.readInstalled('sudoers')).toEqual(ABSENT_FILE_CONTENTS.sudoers);
    const check = spawnSync('/usr/sbin/visudo', ['-c', '-f', join(host.root, 'etc/sudoers.d/fleet-login')]);
    expect(check.status, check.stderr.toString()).toBe(0);
  });

  it('installs the drop-in without rules and warns when visudo is not installed', async () => {
    await host.publish({ serial: 1, files: filesWith({ sudoers: VALID_SUDOERS }) });

    const result = await host.sync({ visudoPath: join(host.folder, 'no-such-visudo') });

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.logs.some((line) => line.level === 'warn' && String(line.message).includes('visudo'))).toBe(
      true,
    );
    expect(await host.readInstalled('sudoers')).toEqual(ABSENT_FILE_CONTENTS.sudoers);
    expect(await host.readInstalled('passwd.cache')).toBeDefined();
  });
});

describe('fleet-login-agent emergency keys', () => {
  it('installs the emergency keys as etc/ssh/emergency_authorized_keys, mode 0644', async () => {
    await host.publish({ serial: 1, files: filesWith({ emergency_authorized_keys: EMERGENCY_KEYS }) });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const linkPath = join(host.root, 'etc/ssh/emergency_authorized_keys');
    expect(await readlink(linkPath)).toBe('../../var/lib/fleet-login/current/emergency_authorized_keys');
    expect(await host.readInstalled('emergency_authorized_keys')).toEqual(Buffer.from(EMERGENCY_KEYS));
    expect((await stat(linkPath)).mode & 0o777).toBe(0o644);
  });
});
