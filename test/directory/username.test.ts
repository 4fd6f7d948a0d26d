import { describe, expect, it } from 'vitest';
import { POSIX_NAME } from '../../shared/bundle/nss-maps.ts';
import { resolveUsername, usernameFor } from '../../shared/directory/username.ts';

const free = async () => false;

describe('usernameFor', () => {
  it.each([
    ['jane.doe@example.test', 'jane.doe'],
    ['Jordan.Lee@example.test', 'jordan.lee'],
    ['jane.doe+ops@example.test', 'jane.doe_ops'],
    ['zoë.ärger@example.test', 'zoe.arger'],
    ["o'brien@example.test", 'o_brien'],
    ['23nrao@example.test', 'u23nrao'],
    ['1042@example.test', 'u1042'],
    ['-dash@example.test', 'u-dash'],
    ['plainname', 'plainname'],
    ['straße@example.test', 'strasse'],
    ['łukasz.øberg@example.test', 'lukasz.oberg'],
  ])('maps %s to %s', (login, expected) => {
    expect(usernameFor(login)).toBe(expected);
  });

  it('gives two long logins that differ only in the tag two distinct valid names, the same on every run (C07)', () => {
    const contractor = 'maria-jose.van.der.berg+contractor@subsidiary.example.co.uk';
    const intern = 'maria-jose.van.der.berg+intern@subsidiary.example.co.uk';
    const names = [usernameFor(contractor), usernameFor(intern)];
    expect(names[0]).not.toBe(names[1]);
    for (const name of names) expect(name).toMatch(POSIX_NAME);
    expect([usernameFor(contractor), usernameFor(intern)]).toEqual(names);
  });

  it.each(['日本@example.test', '@example.test', '+++@example.test'])('gives %s a hashed name', (login) => {
    expect(usernameFor(login)).toMatch(/^u[0-9a-f]{8}$/);
    expect(usernameFor(login)).toBe(usernameFor(login));
  });

  it('never yields a name that is all digits or starts with a digit (C10)', () => {
    for (const login of ['23nrao@example.test', '1042@example.test', '9@x']) {
      expect(usernameFor(login)).toMatch(/^[a-z_]/);
      expect(usernameFor(login)).not.toMatch(/^\d+$/);
    }
  });
});

describe('resolveUsername', () => {
  it('returns the rule name when it is free', async () => {
    expect(await resolveUsername('ana@example.test', '00u1', free)).toBe('ana');
  });

  it('suffixes a taken name with a hash of the source id', async () => {
    const taken = async (name: string) => name === 'ana';
    const name = await resolveUsername('ana@other.test', '00u2', taken);
    expect(name).toMatch(/^ana-[0-9a-f]{8}$/);
    expect(await resolveUsername('ana@other.test', '00u2', taken)).toBe(name);
  });

  it('never hands out a reserved system name', async () => {
    expect(await resolveUsername('root@example.test', '00u3', free)).toMatch(/^root-[0-9a-f]{8}$/);
    expect(await resolveUsername('ubuntu@example.test', '00u4', free)).toMatch(/^ubuntu-[0-9a-f]{8}$/);
  });

  it('fails with a clear error when every candidate is taken', async () => {
    await expect(resolveUsername('ana@example.test', '00u5', async () => true)).rejects.toThrow(
      /no free username for ana@example.test/,
    );
  });
});
