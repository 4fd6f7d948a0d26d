import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type OktaDouble, startOktaDouble } from '../../local/okta-double.ts';
import { generateSshKey } from '../../local/ssh-keys.ts';
import { EmbeddedDirectoryStore } from '../../shared/directory/embedded-store.ts';
import { syncOktaUser } from '../../shared/directory/okta-sync.ts';
import { silentLog } from '../../shared/log.ts';
import { OktaClient, type OktaUser } from '../../shared/sources/okta-api.ts';
import { tempDir } from '../helpers/temp.ts';

let okta: OktaDouble;
beforeEach(async () => {
  okta = await startOktaDouble();
});
afterEach(() => okta.close());

const keyA = generateSshKey('ana@laptop').publicKey;
const keyB = generateSshKey('ana@yubikey').publicKey;

function user(overrides: Partial<OktaUser['profile']> = {}, status = 'ACTIVE'): OktaUser {
  return {
    id: '00uANA',
    status,
    profile: {
      login: 'ana.lopez@example.test',
      email: 'ana.lopez@example.test',
      firstName: 'Ana',
      lastName: 'López',
      sshPublicKeys: [keyA, keyB],
      ...overrides,
    },
  };
}

async function setup(scopeGroups: string[] = []) {
  const store = new EmbeddedDirectoryStore(join(await tempDir(), 'directory.json'));
  const client = new OktaClient({ orgUrl: okta.url, apiToken: okta.apiToken, sleep: async () => {} });
  const deps = {
    okta: client,
    store,
    settings: { keysAttribute: 'sshPublicKeys', groupPattern: /^(?!Everyone$)/, scopeGroups },
    log: silentLog,
  };
  return { store, sync: () => syncOktaUser('00uANA', deps) };
}

describe('syncOktaUser', () => {
  it('creates an active person with both keys and their groups', async () => {
    const { store, sync } = await setup();
    okta.setUser(user(), ['SSH Ops', 'Everyone']);
    expect(await sync()).toMatchObject({ action: 'created', username: 'ana.lopez' });
    const ana = await store.findPerson('ana.lopez');
    expect(ana).toMatchObject({ displayName: 'Ana López', status: 'active', sourceId: '00uANA' });
    expect(ana?.sshPublicKeys).toEqual([keyA, keyB]);
    expect(await store.groupsOf('ana.lopez')).toEqual(['ssh-ops']);
  });

  it('splits one value holding two keys separated by CRLF into two clean keys (C03)', async () => {
    const { store, sync } = await setup();
    okta.setUser(user({ sshPublicKeys: [`${keyA}\r\n${keyB}\r\n`] }));
    await sync();
    const keys = (await store.findPerson('ana.lopez'))?.sshPublicKeys ?? [];
    expect(keys).toEqual([keyA, keyB]);
    for (const key of keys) expect(key).not.toMatch(/[\r\n]/);
  });

  it('accepts a single string holding keys one per line', async () => {
    const { store, sync } = await setup();
    okta.setUser(user({ sshPublicKeys: `${keyA}\n${keyB}` }));
    await sync();
    expect((await store.findPerson('ana.lopez'))?.sshPublicKeys).toEqual([keyA, keyB]);
  });

  it('logs a key attribute of the wrong type and keeps the valid keys', async () => {
    const warnings: unknown[] = [];
    const store = new EmbeddedDirectoryStore(join(await tempDir(), 'directory.json'));
    const client = new OktaClient({ orgUrl: okta.url, apiToken: okta.apiToken });
    const log = { ...silentLog, warn: (...args: unknown[]) => void warnings.push(args) };
    okta.setUser(user({ sshPublicKeys: [42, keyA] as unknown as string[] }));
    await syncOktaUser('00uANA', {
      okta: client,
      store,
      settings: { keysAttribute: 'sshPublicKeys', groupPattern: /./ },
      log,
    });
    expect((await store.findPerson('ana.lopez'))?.sshPublicKeys).toEqual([keyA]);
    expect(JSON.stringify(warnings)).toContain('sshPublicKeys holds a number');
  });

  it('skips an invalid key and keeps the valid one', async () => {
    const { store, sync } = await setup();
    okta.setUser(user({ sshPublicKeys: ['ssh-ed25519 AAAAnotakey', keyA] }));
    await sync();
    expect((await store.findPerson('ana.lopez'))?.sshPublicKeys).toEqual([keyA]);
  });

  it.each(['DEPROVISIONED', 'SUSPENDED'])(
    'disables a person whose Okta status is %s and drops their keys and groups',
    async (status) => {
      const { store, sync } = await setup();
      okta.setUser(user(), ['ssh-ops']);
      await sync();
      okta.setUser(user({}, status), ['ssh-ops']);
      expect(await sync()).toMatchObject({ action: 'updated' });
      expect(await store.findPerson('ana.lopez')).toMatchObject({ status: 'disabled', sshPublicKeys: [] });
      expect(await store.groupsOf('ana.lopez')).toEqual([]);
    },
  );

  it('reactivates a person with the same uidNumber', async () => {
    const { store, sync } = await setup();
    okta.setUser(user());
    await sync();
    const before = await store.findPerson('ana.lopez');
    okta.setUser(user({}, 'SUSPENDED'));
    await sync();
    okta.setUser(user());
    await sync();
    expect(await store.findPerson('ana.lopez')).toMatchObject({
      status: 'active',
      uidNumber: before?.uidNumber,
    });
  });

  it('keeps one person and one name when the login changes case (C09)', async () => {
    const { store, sync } = await setup();
    okta.setUser(user({ login: 'Jordan.Lee@example.test' }));
    await sync();
    okta.setUser(user({ login: 'jordan.lee@example.test' }));
    expect(await sync()).toMatchObject({ action: 'unchanged', username: 'jordan.lee' });
    const snapshot = await store.snapshot();
    expect(snapshot.people.map((person) => person.username)).toEqual(['jordan.lee']);
  });

  it('does not create a STAGED user', async () => {
    const { store, sync } = await setup();
    okta.setUser(user({}, 'STAGED'));
    expect(await sync()).toMatchObject({ action: 'skipped' });
    expect((await store.snapshot()).people).toEqual([]);
  });

  it('deletes a person Okta no longer has', async () => {
    const { store, sync } = await setup();
    okta.setUser(user(), ['SSH Ops']);
    await sync();
    okta.removeUser('00uANA');
    expect(await sync()).toMatchObject({
      action: 'deleted',
      username: 'ana.lopez',
      changes: ['person', '-group ssh-ops'],
    });
    expect(await store.findPerson('ana.lopez')).toBeUndefined();
  });

  it('removes a person from a group Okta no longer lists', async () => {
    const { store, sync } = await setup();
    okta.setUser(user(), ['ssh-ops', 'db-admins']);
    await sync();
    okta.setUser(user(), ['ssh-ops']);
    expect(await sync()).toMatchObject({ changes: ['-group db-admins'] });
    expect(await store.groupsOf('ana.lopez')).toEqual(['ssh-ops']);
  });

  it('waits out 429 answers and then succeeds', async () => {
    const { store, sync } = await setup();
    okta.setUser(user());
    okta.rateLimitNext(2);
    await sync();
    expect(await store.findPerson('ana.lopez')).toBeDefined();
  });

  it('skips a person in none of the scope groups and says why', async () => {
    const { store, sync } = await setup(['Engineering']);
    okta.setUser(user(), ['Sales']);
    expect(await sync()).toMatchObject({
      action: 'skipped',
      changes: ['out of scope: in none of the scope groups'],
    });
    expect((await store.snapshot()).people).toEqual([]);
  });

  it('disables a person who leaves every scope group', async () => {
    const { store, sync } = await setup(['Engineering']);
    okta.setUser(user(), ['Engineering']);
    await sync();
    okta.setUser(user(), ['Sales']);
    await sync();
    expect(await store.findPerson('ana.lopez')).toMatchObject({ status: 'disabled', sshPublicKeys: [] });
  });

  it('never puts a person into a reserved system group', async () => {
    const { store, sync } = await setup();
    okta.setUser(user(), ['sudo', 'Root', 'docker', 'systemd-journal', 'Wheel', 'SSH Ops']);
    await sync();
    expect(await store.groupsOf('ana.lopez')).toEqual(['ssh-ops']);
    expect((await store.snapshot()).groups.map((group) => group.name).sort()).toEqual([
      'ana.lopez',
      'ssh-ops',
    ]);
  });

  it("never adds members to another person's user-private group", async () => {
    const { store, sync } = await setup();
    await store.createPerson({
      username: 'ben',
      displayName: 'Ben',
      sourceId: '00uBEN',
      status: 'active',
      sshPublicKeys: [],
    });
    okta.setUser(user(), ['Ben', 'SSH Ops']);
    await sync();
    expect(await store.groupsOf('ana.lopez')).toEqual(['ssh-ops']);
    expect((await store.findGroup('ben'))?.members).toEqual([]);
  });

  it('gives a login that matches an existing group a suffixed name', async () => {
    const { store, sync } = await setup();
    await store.ensureGroup('engineering');
    okta.setUser(user({ login: 'engineering@example.test' }));
    const outcome = await sync();
    expect(outcome.username).toMatch(/^engineering-[0-9a-f]{8}$/);
    const names = (await store.snapshot()).groups.map((group) => group.name);
    expect(names.filter((name) => name === 'engineering')).toHaveLength(1);
  });

  it('creates one account when syncs of a new user run at once', async () => {
    const { store, sync } = await setup();
    okta.setUser(user(), ['SSH Ops']);
    await Promise.all(Array.from({ length: 5 }, () => sync()));
    const people = (await store.snapshot()).people;
    expect(people.map((person) => person.username)).toEqual(['ana.lopez']);
    expect(await store.groupsOf('ana.lopez')).toEqual(['ssh-ops']);
  });
});
