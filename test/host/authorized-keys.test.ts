// `authorized-keys USER [UID]` prints exactly that user's keys from sshkey.cache and nothing for
// anyone else; with a UID, only when passwd.cache gives the user that uid.

import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findAuthorizedKeys } from '../../host/authorized-keys.ts';
import { main } from '../../host/cli.ts';
import { EXIT } from '../../host/exit-codes.ts';
import { type IndexEntry, parseIndex, renderIndex } from '../../shared/bundle/index-file.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const FIXTURE = new URL('../fixtures/host/c01-sshkey.cache', import.meta.url);

let cache: Buffer;
let root: string;
let keysOf: Map<string, string[]>;

beforeAll(async () => {
  cache = await readFile(FIXTURE);
  // The expected keys, derived from the fixture by splitting each line at its first colon.
  keysOf = new Map();
  for (const line of cache.toString().split('\n').filter(Boolean)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    keysOf.set(name, [...(keysOf.get(name) ?? []), line.slice(colon + 1)]);
  }
  root = await mkdtemp(join(tmpdir(), 'fleet-login-keys-test-'));
  await mkdir(join(root, 'etc'));
  await copyFile(FIXTURE, join(root, 'etc/sshkey.cache'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the CLI in-process; syslog lines are collected, so a test never writes to the machine's log. */
async function runAgent(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; syslog: string[] }> {
  let stdout = '';
  let stderr = '';
  const syslog: string[] = [];
  const code = await main(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    authSyslog: (message) => syslog.push(message),
  });
  return { code, stdout, stderr, syslog };
}

describe('findAuthorizedKeys', () => {
  it.each(['ana', 'ana.lopez', 'anaxlopez', 'juliana'])('returns only the keys of %s', (user) => {
    expect(findAuthorizedKeys(cache, user)).toEqual(keysOf.get(user));
  });

  it('returns both keys of a user with two key lines', () => {
    expect(findAuthorizedKeys(cache, 'ana.lopez')).toHaveLength(2);
  });

  it.each(['lopez', 'an', '.*', '', 'ana:', 'ana\nana', 'ANA'])('returns nothing for %j', (user) => {
    expect(findAuthorizedKeys(cache, user)).toEqual([]);
  });

  it('matches the first line and a last line without a newline', () => {
    const text = Buffer.from('ana:ssh-ed25519 AAAAfirst\nbob:ssh-ed25519 AAAAlast');
    expect(findAuthorizedKeys(text, 'ana')).toEqual(['ssh-ed25519 AAAAfirst']);
    expect(findAuthorizedKeys(text, 'bob')).toEqual(['ssh-ed25519 AAAAlast']);
  });
});

describe('fleet-login-agent authorized-keys', () => {
  it("prints ana's key alone, one key per line", async () => {
    const result = await runAgent(['--root', root, 'authorized-keys', 'ana']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(`${keysOf.get('ana')?.[0]}\n`);
  });

  it('prints the keys of ana.lopez and of no similar name', async () => {
    const result = await runAgent(['--root', root, 'authorized-keys', 'ana.lopez']);

    expect(result.stdout.split('\n').filter(Boolean)).toEqual(keysOf.get('ana.lopez'));
  });

  it.each(['lopez', 'an', '.*', ''])('prints nothing and exits 0 for %j', async (user) => {
    const result = await runAgent(['--root', root, 'authorized-keys', user]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('treats a user name that looks like an option as a name', async () => {
    const result = await runAgent(['authorized-keys', `--root=${root}`]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('prints nothing and exits 0 before the first sync', async () => {
    const result = await runAgent(['--root', join(root, 'no-such-root'), 'authorized-keys', 'ana']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('exits 2 without a user name', async () => {
    const result = await runAgent(['--root', root, 'authorized-keys']);

    expect(result.code).toBe(EXIT.usage);
  });
});

describe('fleet-login-agent authorized-keys with a uid', () => {
  const anaKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAnaUidCheck ana@laptop';
  const dbadminKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPgUidCheck dbadmin@desk';
  const people = [
    makePerson('ana', 52001, { sshPublicKeys: [anaKey] }),
    makePerson('bruno', 52002),
    makePerson('dbadmin', 52010, { sshPublicKeys: [dbadminKey] }),
  ];
  let uidRoot: string;

  /** Writes the bundle's passwd and sshkey caches (and the name index) under a fresh root. */
  async function writeCaches(files: Map<BundleFileName, Buffer>): Promise<void> {
    await rm(uidRoot, { recursive: true, force: true });
    await mkdir(join(uidRoot, 'etc'), { recursive: true });
    for (const name of ['passwd.cache', 'passwd.cache.ixname', 'sshkey.cache'] as const) {
      const bytes = files.get(name);
      if (bytes) await writeFile(join(uidRoot, 'etc', name), bytes);
    }
  }

  beforeEach(async () => {
    uidRoot = join(root, 'uid-root');
    await writeCaches(renderNssFiles(people, []));
  });

  it('prints the keys when the uid is the bundle uid', async () => {
    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52001']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(`${anaKey}\n`);
    expect(result.stderr).toBe('');
    expect(result.syslog).toEqual([]);
  });

  it('prints nothing and says why when a local account owns the name', async () => {
    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'dbadmin', '101']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
    const lines = result.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({ level: 'warn', user: 'dbadmin', uid: 101, bundleUid: 52010 });
    expect(line.message).toContain('local account');
    expect(result.syslog).toEqual([
      'keys of dbadmin not printed: the name belongs to a local account with uid 101, and the bundle gives uid 52010',
    ]);
  });

  it('prints the keys without a uid, as before', async () => {
    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'dbadmin']);

    expect(result.stdout).toBe(`${dbadminKey}\n`);
  });

  it('prints nothing when passwd.cache has no entry for the name', async () => {
    const files = renderNssFiles(people, []);
    const withoutAna = renderNssFiles(
      people.filter((person) => person.username !== 'ana'),
      [],
    );
    files.set('passwd.cache', withoutAna.get('passwd.cache') as Buffer);
    files.set('passwd.cache.ixname', withoutAna.get('passwd.cache.ixname') as Buffer);
    await writeCaches(files);

    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52001']);

    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr).message).toContain('no entry');
    expect(result.syslog).toEqual(['keys of ana not printed: passwd.cache has no entry for the name']);
  });

  it.each([
    ['missing', undefined],
    ['pointing at the wrong lines', 'shift'],
    ['without a newline', 'garbage'],
  ])('finds the uid by a scan when the name index is %s', async (_case, damage) => {
    const files = renderNssFiles(people, []);
    const index = files.get('passwd.cache.ixname') as Buffer;
    if (damage === undefined) files.delete('passwd.cache.ixname');
    // Every offset off by one line: the entry for a name points at the next person's line.
    if (damage === 'shift') files.set('passwd.cache.ixname', renderIndex(shiftedOffsets(index)));
    if (damage === 'garbage') files.set('passwd.cache.ixname', Buffer.from('ana\u000012'));
    await writeCaches(files);

    const allowed = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52001']);
    const refused = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52002']);

    expect(allowed.stdout).toBe(`${anaKey}\n`);
    expect(refused.stdout).toBe('');
  });

  it('exits 1 when sshkey.cache has keys but passwd.cache is missing', async () => {
    await rm(join(uidRoot, 'etc/passwd.cache'));

    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52001']);

    expect(result.code).toBe(EXIT.unexpected);
    expect(result.stdout).toBe('');
  });

  it.each(['', 'abc', '-1', '1e3', '52001x', '12345678901'])('exits 2 for the uid %j', async (uid) => {
    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', uid]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for a third argument', async () => {
    const result = await runAgent(['--root', uidRoot, 'authorized-keys', 'ana', '52001', 'extra']);

    expect(result.code).toBe(EXIT.usage);
  });
});

/** Moves every index entry to the offset of the entry after it (the last one to the first's). */
function shiftedOffsets(index: Buffer): IndexEntry[] {
  const entries = parseIndex(index);
  return entries.map((entry, row) => ({
    key: entry.key,
    offset: (entries[(row + 1) % entries.length] as IndexEntry).offset,
  }));
}
