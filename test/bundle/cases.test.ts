// The named edge cases, loaded from test/fixtures/cases and run through the real sync and publish code.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OktaDouble, startOktaDouble } from '../../local/okta-double.ts';
import { generateSshKey } from '../../local/ssh-keys.ts';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import { parseIndex } from '../../shared/bundle/index-file.ts';
import { EmbeddedDirectoryStore } from '../../shared/directory/embedded-store.ts';
import type { DirectorySnapshot, Person } from '../../shared/directory/model.ts';
import { syncOktaUser } from '../../shared/directory/okta-sync.ts';
import { silentLog } from '../../shared/log.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { OktaClient, type OktaUser } from '../../shared/sources/okta-api.ts';
import { tempDir } from '../helpers/temp.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/cases/${name}`, import.meta.url), 'utf8');
const policy = parsePolicy(
  'hostClasses:\n  general: { allowGroups: ["*"] }\n  bastion: { allowGroups: ["*"], shellOverride: /usr/local/sbin/fleet-login-no-shell }\n',
  'cases policy',
);

function person(username: string, overrides: Partial<Person> = {}): Person {
  return {
    username,
    uidNumber: 100000,
    gidNumber: 100000,
    displayName: username,
    homeDirectory: `/home/${username}`,
    loginShell: '/bin/bash',
    status: 'active',
    sshPublicKeys: [],
    ...overrides,
  };
}

/** Checks every index entry the way libnss-cache reads it: it lands on a line start whose first field is the key. */
function expectIndexValid(cache: Buffer, index: Buffer, field: 0 | 2) {
  for (const { key, offset } of parseIndex(index)) {
    expect(offset === 0 || cache[offset - 1] === 0x0a).toBe(true);
    const line = cache.subarray(offset, cache.indexOf(0x0a, offset)).toString('utf8');
    expect(line.split(':')[field]).toBe(key);
  }
}

describe('C03: two keys in one CRLF-separated value', () => {
  let okta: OktaDouble;
  beforeEach(async () => {
    okta = await startOktaDouble();
  });
  afterEach(() => okta.close());

  it('yields two clean keys and one sshkey.cache line per key', async () => {
    const keys = [generateSshKey('rosa@laptop').publicKey, generateSshKey('rosa@yubikey').publicKey];
    let next = 0;
    const user = JSON.parse(
      fixture('c03-crlf-keys.json').replace(/GENERATED [^\\"]+/g, () => keys[next++] ?? ''),
    ) as OktaUser;
    okta.setUser(user);
    const store = new EmbeddedDirectoryStore(join(await tempDir(), 'directory.json'));
    const client = new OktaClient({ orgUrl: okta.url, apiToken: okta.apiToken });
    await syncOktaUser(user.id, {
      okta: client,
      store,
      settings: { keysAttribute: 'sshPublicKeys', groupPattern: /./ },
      log: silentLog,
    });

    const { files } = buildClassFiles(await store.snapshot(), policy.hostClasses[0] ?? ({} as never));
    const sshkey = files.get('sshkey.cache')?.toString('utf8') ?? '';
    expect(sshkey).not.toContain('\r');
    expect(sshkey.split('\n').filter(Boolean)).toEqual(keys.map((key) => `rosa.mendez:${key}`));
  });
});

describe('C11: display names with a colon and a newline', () => {
  const names = JSON.parse(fixture('c11-hostile-gecos.json')) as { username: string; displayName: string }[];
  const snapshot: DirectorySnapshot = {
    people: names.map((entry, n) =>
      person(entry.username, {
        displayName: entry.displayName,
        uidNumber: 100000 + n,
        gidNumber: 100000 + n,
      }),
    ),
    groups: [],
    readAt: new Date().toISOString(),
  };

  it.each(policy.hostClasses.map((hostClass) => [hostClass.name, hostClass] as const))(
    'keeps seven fields on one line and every index offset valid in %s',
    (_name, hostClass) => {
      const { files } = buildClassFiles(snapshot, hostClass);
      const passwd = files.get('passwd.cache') ?? Buffer.alloc(0);
      const lines = passwd.toString('utf8').split('\n').filter(Boolean);
      expect(lines).toHaveLength(names.length);
      for (const line of lines) expect(line.split(':')).toHaveLength(7);
      expectIndexValid(passwd, files.get('passwd.cache.ixname') ?? Buffer.alloc(0), 0);
      expectIndexValid(passwd, files.get('passwd.cache.ixuid') ?? Buffer.alloc(0), 2);
    },
  );
});

describe('C13: deactivated and suspended people', () => {
  const input = JSON.parse(fixture('c13-disabled-people.json')) as {
    people: { username: string; status: 'active' | 'disabled'; uidNumber: number }[];
    sharedGroup: { name: string; gidNumber: number; members: string[] };
  };
  const snapshot: DirectorySnapshot = {
    people: input.people.map((entry) =>
      person(entry.username, {
        ...entry,
        gidNumber: entry.uidNumber,
        sshPublicKeys: [generateSshKey(entry.username).publicKey],
      }),
    ),
    groups: [
      ...input.people.map((entry) => ({ name: entry.username, gidNumber: entry.uidNumber, members: [] })),
      input.sharedGroup,
    ],
    readAt: new Date().toISOString(),
  };

  it.each(policy.hostClasses.map((hostClass) => [hostClass.name, hostClass] as const))(
    'leaves them out of every map of %s',
    (_name, hostClass) => {
      const { files } = buildClassFiles(snapshot, hostClass);
      for (const name of ['passwd.cache', 'shadow.cache', 'sshkey.cache', 'group.cache'] as const) {
        const text = files.get(name)?.toString('utf8') ?? '';
        expect(text).not.toMatch(/deactivated\.two|suspended\.three/);
      }
      expect(files.get('group.cache')?.toString('utf8')).toContain('ssh-ops:*:500000:active.one\n');
    },
  );
});
