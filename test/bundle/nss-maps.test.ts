import { describe, expect, it } from 'vitest';
import { buildMaps, cleanGecos } from '../../shared/bundle/nss-maps.ts';
import type { Person } from '../../shared/directory/model.ts';

function person(overrides: Partial<Person> = {}): Person {
  return {
    username: 'ana',
    uidNumber: 100000,
    gidNumber: 100000,
    displayName: 'Ana López',
    homeDirectory: '/home/ana',
    loginShell: '/bin/bash',
    status: 'active',
    sshPublicKeys: [],
    ...overrides,
  };
}

describe('cleanGecos', () => {
  it.each([
    ['Ana: on-call lead', 'Ana on-call lead'],
    ['Ruiz\nSalas, Jr.', 'Ruiz Salas, Jr.'],
    ['Tab\there\r\n', 'Tab here'],
    ['  Zoë   Ärger ', 'Zoë Ärger'],
    ['a\u0000b\u007fc', 'a b c'],
    ['next\u0085line', 'next line'],
    ['evil\u202Egnp.exe\u202C', 'evil gnp.exe'],
    ['para\u2029graph', 'para graph'],
  ])('cleans %j to %j', (input, expected) => {
    expect(cleanGecos(input)).toBe(expected);
  });

  it('cuts long names at a character boundary', () => {
    const cleaned = cleanGecos('é'.repeat(300));
    expect(Buffer.byteLength(cleaned)).toBeLessThanOrEqual(256);
    expect(cleaned).toBe('é'.repeat(128));
  });
});

describe('buildMaps', () => {
  it('writes passwd lines with exactly seven fields and no newline for hostile display names', () => {
    const { maps } = buildMaps(
      [
        person({ displayName: 'Ana: on-call lead' }),
        person({ username: 'ruiz', uidNumber: 100001, displayName: 'Ruiz\nSalas, Jr.' }),
      ],
      [],
      new Set(),
    );
    for (const record of maps.passwd) {
      expect(record.line.split(':')).toHaveLength(7);
      expect(record.line).not.toMatch(/[\r\n]/);
    }
    expect(maps.passwd[1]?.line).toBe('ruiz:x:100001:100000:Ruiz Salas, Jr.:/home/ana:/bin/bash');
  });

  it('writes one sshkey line per key', () => {
    const { maps } = buildMaps(
      [person({ sshPublicKeys: ['ssh-ed25519 AAAA1 a', 'ssh-ed25519 AAAA2 b'] })],
      [],
      new Set(),
    );
    expect(maps.sshkey.map((record) => record.line)).toEqual([
      'ana:ssh-ed25519 AAAA1 a',
      'ana:ssh-ed25519 AAAA2 b',
    ]);
  });

  it('writes shadow entries with a locked password and empty unset fields', () => {
    const { maps } = buildMaps(
      [person(), person({ username: 'ben', shadow: { lastChange: 19283, min: 0, max: 99999, warning: 7 } })],
      [],
      new Set(),
    );
    expect(maps.shadow.map((record) => record.line)).toEqual(['ana:*:::::::', 'ben:*:19283::99999:7:::']);
  });

  it('applies the shell override to every person', () => {
    const { maps } = buildMaps([person({ loginShell: '/bin/zsh' })], [], new Set(), {
      shellOverride: '/usr/sbin/nologin',
    });
    expect(maps.passwd[0]?.line.endsWith(':/usr/sbin/nologin')).toBe(true);
  });

  it('sorts and de-duplicates members and drops excluded people but keeps unknown names', () => {
    const { maps } = buildMaps(
      [],
      [{ name: 'ops', gidNumber: 500000, members: ['zed', 'ana', 'gone', 'ana'] }],
      new Set(['gone']),
    );
    expect(maps.group[0]?.line).toBe('ops:*:500000:ana,zed');
  });

  it('keeps the trailing colon of an empty group', () => {
    const { maps } = buildMaps([], [{ name: 'auditors', gidNumber: 500001, members: [] }], new Set());
    expect(maps.group[0]?.line).toBe('auditors:*:500001:');
  });

  it.each([
    ['an invalid username', { username: 'Ana Lopez' }],
    ['a home with a colon', { homeDirectory: '/home/a:b' }],
    ['a shell with a newline', { loginShell: '/bin/bash\n' }],
  ])('skips a person with %s and says why', (_case, overrides) => {
    const { maps, skipped } = buildMaps([person(overrides)], [], new Set());
    expect(maps.passwd).toHaveLength(0);
    expect(maps.shadow).toHaveLength(0);
    expect(skipped).toHaveLength(1);
  });

  it('sorts people by the bytes of their names', () => {
    const { maps } = buildMaps(
      [person({ username: 'b' }), person({ username: 'a_' }), person({ username: 'a.' })],
      [],
      new Set(),
    );
    expect(maps.passwd.map((record) => record.name)).toEqual(['a.', 'a_', 'b']);
  });

  it.each([
    ['uid 0', { username: 'toor', uidNumber: 0 }, /uidNumber 0 is below 1000/],
    ['a reserved name', { username: 'root', uidNumber: 5000 }, /root is reserved/],
    ['a service account name', { username: 'postgres', uidNumber: 5001 }, /postgres is reserved/],
  ])('leaves out a directory person with %s', (_case, overrides, reason) => {
    const { maps, skipped } = buildMaps([person(overrides)], [], new Set());
    expect(maps.passwd).toHaveLength(0);
    expect(maps.sshkey).toHaveLength(0);
    expect(skipped[0]?.reason).toMatch(reason);
  });

  it('leaves out every person whose name two entries hold', () => {
    const { maps, skipped } = buildMaps(
      [
        person({ username: 'alice', uidNumber: 5001 }),
        person({ username: 'alice', uidNumber: 5002 }),
        person({ username: 'bob' }),
      ],
      [],
      new Set(),
    );
    expect(maps.passwd.map((record) => record.name)).toEqual(['bob']);
    expect(skipped.map((entry) => entry.name)).toEqual(['alice', 'alice']);
  });

  it.each([
    ['the gid of Debian sudo', { name: 'admins', gidNumber: 27, members: ['ana'] }],
    ['a reserved name', { name: 'wheel', gidNumber: 5000, members: ['ana'] }],
  ])('leaves out a group with %s', (_case, group) => {
    const { maps, skipped } = buildMaps([person()], [group], new Set());
    expect(maps.group).toHaveLength(0);
    expect(skipped).toHaveLength(1);
  });
});
