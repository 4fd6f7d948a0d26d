// The LDAP store plus the bundle writers against what nsscache 0.50 wrote from the same 300-person directory.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import { lookupIndex, parseIndex } from '../../shared/bundle/index-file.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { daysSinceEpoch } from '../../shared/directory/ldap-entries.ts';
import { LdapStore } from '../../shared/directory/ldap-store.ts';
import type { DirectorySnapshot } from '../../shared/directory/model.ts';
import type { HostClassPolicy } from '../../shared/policy/policy.ts';
import { clientTls } from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';

const REFERENCE = new URL('../fixtures/nsscache-reference/', import.meta.url);
const SUFFIX = 'dc=example,dc=com';
/** One class that admits every active person, with no shell override and no sudo rules. */
const EVERYONE: HostClassPolicy = {
  name: 'everyone',
  allowGroups: ['*'],
  sudo: [],
  emergencyKeys: false,
  bundleLifetimeHours: 72,
};

function referenceLines(name: string): string[] {
  return readFileSync(new URL(`nsscache-0.50-variety300/${name}`, REFERENCE), 'utf8')
    .split('\n')
    .filter(Boolean);
}

function lines(files: Map<BundleFileName, Buffer>, name: BundleFileName): string[] {
  return (files.get(name)?.toString('utf8') ?? '').split('\n').filter(Boolean);
}

/** (user, key) pairs of nsscache's list-repr lines, `alice:['key one', 'key two']`. */
function referenceKeyPairs(): string[] {
  return referenceLines('sshkey.cache').flatMap((line) => {
    const user = line.slice(0, line.indexOf(':'));
    return [...line.matchAll(/'([^']*)'/g)].map((match) => `${user} ${match[1]}`);
  });
}

describe('LdapStore against nsscache 0.50 output', () => {
  let server: SlapdServer;
  let snapshot: DirectorySnapshot;
  let files: Map<BundleFileName, Buffer>;
  /** People whose shadowExpire has passed: disabled, so by design absent from every map. */
  let expired: Set<string>;

  beforeAll(async () => {
    server = await startSlapd({
      suffix: SUFFIX,
      ldifFiles: [fileURLToPath(new URL('directory-variety300.ldif', REFERENCE))],
    });
    const store = new LdapStore({
      url: server.url,
      bindDn: server.adminDn,
      bindPassword: server.adminPassword,
      tls: clientTls(server.tls),
      bases: { people: `ou=people,${SUFFIX}`, groups: `ou=groups,${SUFFIX}` },
      counterDn: `cn=fleet-login-counters,${SUFFIX}`,
    });
    snapshot = await store.snapshot();
    await store.close();
    const built = buildClassFiles(snapshot, EVERYONE);
    expect(built.skipped).toEqual([]);
    files = built.files;
    // Taken from nsscache's shadow.cache, not from the snapshot, so the store's status rule is checked against it.
    const today = daysSinceEpoch(new Date());
    expired = new Set(
      referenceLines('shadow.cache')
        .map((line) => line.split(':'))
        .filter((fields) => Number(fields[7]) >= 1 && Number(fields[7]) <= today)
        .map((fields) => fields[0] ?? ''),
    );
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('reads all 300 people and marks exactly the expired ones disabled', () => {
    expect(snapshot.people).toHaveLength(300);
    expect(expired.size).toBeGreaterThan(0);
    const disabled = snapshot.people
      .filter((person) => person.status === 'disabled')
      .map((person) => person.username);
    expect(new Set(disabled)).toEqual(expired);
  });

  it('writes the passwd lines nsscache wrote, less the expired people', () => {
    const expected = referenceLines('passwd.cache').filter((line) => !expired.has(line.split(':')[0] ?? ''));
    expect(new Set(lines(files, 'passwd.cache'))).toEqual(new Set(expected));
  });

  it('writes the group lines nsscache wrote, less the expired people as members', () => {
    const expected = referenceLines('group.cache').map((line) => {
      const fields = line.split(':');
      const members = (fields[3] ?? '').split(',').filter((member) => member && !expired.has(member));
      return [...fields.slice(0, 3), members.join(',')].join(':');
    });
    expect(new Set(lines(files, 'group.cache'))).toEqual(new Set(expected));
  });

  it('writes the shadow lines nsscache wrote with * for the password hash', () => {
    // Logins are key-only, so the bundle never carries a hash; nsscache copies {CRYPT} hashes.
    const expected = referenceLines('shadow.cache')
      .filter((line) => !expired.has(line.split(':')[0] ?? ''))
      .map((line) => {
        const fields = line.split(':');
        return [fields[0], '*', ...fields.slice(2)].join(':');
      });
    expect(new Set(lines(files, 'shadow.cache'))).toEqual(new Set(expected));
  });

  it('writes the same (user, key) pairs as nsscache, one key per line', () => {
    const expected = referenceKeyPairs().filter((pair) => !expired.has(pair.split(' ')[0] ?? ''));
    const written = lines(files, 'sshkey.cache').map((line) => line.replace(':', ' '));
    expect(new Set(written)).toEqual(new Set(expected));
  });

  it.each([
    ['passwd.cache', 'passwd.cache.ixname', 0],
    ['passwd.cache', 'passwd.cache.ixuid', 2],
    ['group.cache', 'group.cache.ixname', 0],
    ['group.cache', 'group.cache.ixgid', 2],
    ['shadow.cache', 'shadow.cache.ixname', 0],
  ] as const)('resolves every %s key of %s to its record', (cacheName, indexName, field) => {
    const cache = files.get(cacheName) as Buffer;
    const index = files.get(indexName) as Buffer;
    const entries = parseIndex(index);
    expect(entries.length).toBe(lines(files, cacheName).length);
    for (const entry of entries) {
      const offset = lookupIndex(index, entry.key);
      expect(offset).toBe(entry.offset);
      const record = cache.subarray(offset, cache.indexOf(0x0a, offset)).toString('utf8');
      expect(record.split(':')[field]).toBe(entry.key);
    }
  });

  it('fixes the passwd index entries nsscache points at the wrong byte', () => {
    const cache = readFileSync(new URL('nsscache-0.50-variety300/passwd.cache', REFERENCE));
    const entries = parseIndex(
      readFileSync(new URL('nsscache-0.50-variety300/passwd.cache.ixname', REFERENCE)),
    );
    const misplaced = entries.filter(
      (entry) => !cache.subarray(entry.offset).toString('utf8').startsWith(`${entry.key}:`),
    );
    // Every record after the one non-ASCII GECOS is off by its extra UTF-8 bytes in nsscache's index.
    expect(misplaced.length).toBeGreaterThan(0);
  });
});
