import { Attribute, Change } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRIVATE_GROUP_DESCRIPTION } from '../../shared/directory/ldap-entries.ts';
import type { LdapStore } from '../../shared/directory/ldap-store.ts';
import type { NewPerson } from '../../shared/directory/model.ts';
import { DirectoryError, ValidationError } from '../../shared/errors.ts';
import {
  asAdmin,
  COUNTER_DN,
  fixture,
  GROUPS_BASE,
  PEOPLE_BASE,
  readEntry,
  SUFFIX,
  storeFor,
} from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA a@laptop';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB a@desk';

function newPerson(username: string, overrides: Partial<NewPerson> = {}): NewPerson {
  return {
    username,
    displayName: `${username.toUpperCase()} Tester`,
    email: `${username}@example.test`,
    sourceId: `00u-${username}`,
    status: 'active',
    sshPublicKeys: [KEY_A],
    ...overrides,
  };
}

/** One slapd per describe block, loaded with the skeleton and the existing-directory fixture. */
function useDirectory(): { server: () => SlapdServer; store: () => LdapStore } {
  let server: SlapdServer | undefined;
  let store: LdapStore | undefined;
  beforeAll(async () => {
    server = await startSlapd({ suffix: SUFFIX, ldif: [fixture('base.ldif'), fixture('existing.ldif')] });
    store = storeFor(server);
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });
  return {
    server: () => server as SlapdServer,
    store: () => store as LdapStore,
  };
}

describe('LdapStore people', () => {
  const { server, store } = useDirectory();

  it('creates a person with a user-private group', async () => {
    const created = await store().createPerson(newPerson('alice', { sshPublicKeys: [KEY_A, KEY_B] }));

    expect(created.uidNumber).toBeGreaterThanOrEqual(100_000);
    expect(created.gidNumber).toBe(created.uidNumber);
    expect(created).toMatchObject({
      username: 'alice',
      displayName: 'ALICE Tester',
      email: 'alice@example.test',
      sourceId: '00u-alice',
      homeDirectory: '/home/alice',
      loginShell: '/bin/bash',
      status: 'active',
      sshPublicKeys: [KEY_A, KEY_B],
    });
    expect(await store().findPerson('alice')).toEqual(created);
    expect(await store().findPersonBySourceId('00u-alice')).toEqual(created);
    const group = await readEntry(server(), `cn=alice,${GROUPS_BASE}`);
    expect(group?.gidNumber).toEqual([String(created.uidNumber)]);
    expect(group?.description).toEqual([PRIVATE_GROUP_DESCRIPTION]);
    expect((await readEntry(server(), `uid=alice,${PEOPLE_BASE}`))?.sn).toEqual(['Tester']);
  });

  it('returns undefined for an unknown username or source id', async () => {
    expect(await store().findPerson('nobody')).toBeUndefined();
    expect(await store().findPersonBySourceId('00u-nobody')).toBeUndefined();
  });

  it('returns the same person when a create is retried', async () => {
    const first = await store().createPerson(newPerson('bob'));
    const second = await store().createPerson(newPerson('bob'));
    expect(second.uidNumber).toBe(first.uidNumber);
  });

  it('rejects a create for a username held by another source id', async () => {
    await store().createPerson(newPerson('bea'));
    await expect(store().createPerson(newPerson('bea', { sourceId: '00u-other' }))).rejects.toThrow(
      /another source id/,
    );
  });

  it('finishes a create interrupted after the private group was added', async () => {
    await asAdmin(server(), (client) =>
      client.add(`cn=carol,${GROUPS_BASE}`, {
        objectClass: ['top', 'posixGroup'],
        cn: 'carol',
        gidNumber: '123456',
        description: PRIVATE_GROUP_DESCRIPTION,
      }),
    );
    const carol = await store().createPerson(newPerson('carol'));
    expect(carol.uidNumber).toBe(123456);
    expect(carol.gidNumber).toBe(123456);
  });

  it('rejects a username whose group is not a private group', async () => {
    await expect(store().createPerson(newPerson('ops'))).rejects.toThrow(
      /not a fleet-login user-private group/,
    );
    expect(await store().findPerson('ops')).toBeUndefined();
  });

  it('rejects an invalid username before writing', async () => {
    await expect(store().createPerson(newPerson('Bad,Name'))).rejects.toBeInstanceOf(ValidationError);
  });

  it('creates a disabled person with shadowExpire and no keys', async () => {
    const dora = await store().createPerson(newPerson('dora', { status: 'disabled' }));
    expect(dora.status).toBe('disabled');
    expect(dora.sshPublicKeys).toEqual([]);
    expect((await readEntry(server(), `uid=dora,${PEOPLE_BASE}`))?.shadowExpire).toEqual(['1']);
  });

  it('updates keys, name and email in one call', async () => {
    await store().createPerson(newPerson('ed'));
    const updated = await store().updatePerson('ed', {
      displayName: 'Edmund Blackadder',
      email: 'edmund@example.test',
      sshPublicKeys: [KEY_B],
    });
    expect(updated).toMatchObject({
      displayName: 'Edmund Blackadder',
      email: 'edmund@example.test',
      sshPublicKeys: [KEY_B],
    });
    const entry = await readEntry(server(), `uid=ed,${PEOPLE_BASE}`);
    expect(entry?.sn).toEqual(['Blackadder']);
    expect(entry?.cn).toEqual(['Edmund Blackadder']);
  });

  it('removes email and keys given as empty', async () => {
    await store().createPerson(newPerson('fay'));
    const updated = await store().updatePerson('fay', { email: undefined, sshPublicKeys: [] });
    expect(updated.email).toBeUndefined();
    expect(updated.sshPublicKeys).toEqual([]);
  });

  it('replaces a gecos attribute when the name changes', async () => {
    const updated = await store().updatePerson('gecosy', { displayName: 'Gert Renamed' });
    expect(updated.displayName).toBe('Gert Renamed');
    expect((await readEntry(server(), `uid=gecosy,${PEOPLE_BASE}`))?.gecos).toBeUndefined();
  });

  it('deactivates with shadowExpire 1 and no keys, and reactivates', async () => {
    await store().createPerson(newPerson('gus', { sshPublicKeys: [KEY_A, KEY_B] }));

    const disabled = await store().updatePerson('gus', { status: 'disabled' });
    const disabledEntry = await readEntry(server(), `uid=gus,${PEOPLE_BASE}`);
    expect(disabled.status).toBe('disabled');
    expect(disabledEntry?.shadowExpire).toEqual(['1']);
    expect(disabledEntry?.sshPublicKey).toBeUndefined();

    const active = await store().updatePerson('gus', { status: 'active', sshPublicKeys: [KEY_B] });
    const activeEntry = await readEntry(server(), `uid=gus,${PEOPLE_BASE}`);
    expect(active.status).toBe('active');
    expect(active.sshPublicKeys).toEqual([KEY_B]);
    expect(activeEntry?.shadowExpire).toBeUndefined();
  });

  it('adds missing object classes when an outside person gets keys and a status', async () => {
    await store().updatePerson('zoe', { sshPublicKeys: [KEY_A] });
    const disabled = await store().updatePerson('zoe', { status: 'disabled' });
    const entry = await readEntry(server(), `uid=zoe,${PEOPLE_BASE}`);
    expect(disabled.status).toBe('disabled');
    expect(entry?.objectClass).toEqual(expect.arrayContaining(['ldapPublicKey', 'shadowAccount']));
  });

  it('fails to update an unknown person', async () => {
    await expect(store().updatePerson('nobody', { displayName: 'X' })).rejects.toThrow(
      /person nobody not found/,
    );
  });

  it('deletes the person, their private group and their memberships', async () => {
    const hal = await store().createPerson(newPerson('hal'));
    await store().ensureGroup('deploy');
    await store().addMember('deploy', 'hal');
    await store().addMember('ops', 'hal');

    await store().deletePerson('hal');

    expect(await store().findPerson('hal')).toBeUndefined();
    expect(await readEntry(server(), `cn=hal,${GROUPS_BASE}`)).toBeUndefined();
    expect((await readEntry(server(), `cn=deploy,${GROUPS_BASE}`))?.memberUid).toBeUndefined();
    expect((await readEntry(server(), `cn=ops,${GROUPS_BASE}`))?.memberUid).not.toContain('hal');
    const next = await store().createPerson(newPerson('hal'));
    expect(next.uidNumber).toBeGreaterThan(hal.uidNumber);
  });

  it('treats deleting an absent person as done', async () => {
    await expect(store().deletePerson('never-existed')).resolves.toBeUndefined();
  });

  it('gives 50 parallel creates 50 distinct uidNumbers', async () => {
    const names = Array.from({ length: 50 }, (_, index) => `par${index}`);
    const people = await Promise.all(names.map((name) => store().createPerson(newPerson(name))));
    const numbers = new Set(people.map((person) => person.uidNumber));
    expect(numbers.size).toBe(50);
  });

  it('never reuses the uidNumber of a deleted person', async () => {
    const ivy = await store().createPerson(newPerson('ivy'));
    await store().deletePerson('ivy');
    const jon = await store().createPerson(newPerson('jon'));
    const ivyAgain = await store().createPerson(newPerson('ivy'));
    expect(jon.uidNumber).not.toBe(ivy.uidNumber);
    expect(ivyAgain.uidNumber).not.toBe(ivy.uidNumber);
    expect(ivyAgain.uidNumber).toBeGreaterThan(jon.uidNumber);
  });
});

describe('LdapStore counter', () => {
  const { server, store } = useDirectory();

  it('starts a missing counter above the numbers in use', async () => {
    const low = storeFor(server(), { firstUidNumber: 3000, firstGidNumber: 9000 });
    const person = await low.createPerson(newPerson('kim'));
    // The fixture's highest number in [3000, 9000) is gidNumber 4004 of cn=auditors.
    expect(person.uidNumber).toBe(4005);
    expect((await readEntry(server(), COUNTER_DN))?.uidNumber).toEqual(['4006']);
  });

  it('skips numbers that outside tools already used', async () => {
    await asAdmin(server(), (client) =>
      client.modify(
        COUNTER_DN,
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'uidNumber', values: ['3001'] }),
        }),
      ),
    );
    const person = await store().createPerson(newPerson('lea'));
    // 3001–3004 belong to the fixture's people and groups.
    expect(person.uidNumber).toBe(3005);
  });
});

describe('LdapStore groups', () => {
  const { server, store } = useDirectory();

  it('creates a group once and returns it afterwards', async () => {
    const created = await store().ensureGroup('builders');
    const again = await store().ensureGroup('builders');
    expect(created.gidNumber).toBeGreaterThanOrEqual(500_000);
    expect(again).toEqual(created);
  });

  it('adds and removes memberUid members', async () => {
    await store().createPerson(newPerson('max'));
    await store().ensureGroup('web');
    await store().addMember('web', 'max');
    await store().addMember('web', 'max');
    expect((await store().ensureGroup('web')).members).toEqual(['max']);
    expect(await store().groupsOf('max')).toEqual(['web']);

    await store().removeMember('web', 'max');
    await store().removeMember('web', 'max');
    expect((await store().ensureGroup('web')).members).toEqual([]);
    expect(await store().groupsOf('max')).toEqual([]);
  });

  it('writes member DNs to groupOfNames and uniqueMember DNs to groupOfUniqueNames', async () => {
    await store().addMember('sre', 'gecosy');
    await store().addMember('auditors', 'zoe');
    expect((await readEntry(server(), `cn=sre,${GROUPS_BASE}`))?.member).toContain(
      `uid=gecosy,${PEOPLE_BASE}`,
    );
    expect((await readEntry(server(), `cn=auditors,${GROUPS_BASE}`))?.uniqueMember).toContain(
      `uid=zoe,${PEOPLE_BASE}`,
    );
    expect(await store().groupsOf('gecosy')).toEqual(['auditors', 'sre']);

    await store().removeMember('sre', 'gecosy');
    await store().removeMember('auditors', 'gecosy');
    expect(await store().groupsOf('gecosy')).toEqual([]);
  });

  it('writes memberUid in memberUid mode even to a groupOfNames group with extensibleObject', async () => {
    const fixed = storeFor(server(), { memberMode: 'memberUid' });
    await fixed.addMember('sre', 'old');
    expect((await readEntry(server(), `cn=sre,${GROUPS_BASE}`))?.memberUid).toEqual(['old']);
  });

  it('leaves the private group out of groupsOf', async () => {
    await store().createPerson(newPerson('ned'));
    await store().addMember('ops', 'ned');
    expect(await store().groupsOf('ned')).toEqual(['ops']);
  });

  it('fails to add a member to a missing group', async () => {
    const error = await store()
      .addMember('no-such-group', 'ana')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toMatch(/group no-such-group not found/);
  });
});

describe('LdapStore snapshot of an existing directory', () => {
  const { store } = useDirectory();

  it('reads people as they are', async () => {
    const snapshot = await store().snapshot();
    const byName = new Map(snapshot.people.map((person) => [person.username, person]));

    expect([...byName.keys()].sort()).toEqual(['ana', 'gecosy', 'old', 'zoe']);
    expect(byName.get('ana')).toMatchObject({
      status: 'active',
      loginShell: '/bin/zsh',
      shadow: { lastChange: 19000, max: 99999 },
    });
    expect(byName.get('ana')?.sshPublicKeys).toHaveLength(2);
    expect(byName.get('zoe')).toMatchObject({
      displayName: 'Zoë Ärger-Łukasiewicz',
      sshPublicKeys: [],
      status: 'active',
    });
    expect(byName.get('old')?.status).toBe('disabled');
    expect(byName.get('gecosy')?.displayName).toBe('Gert Cosy,Room 7,555-0107');
    expect(byName.get('gecosy')?.loginShell).toBe('');
  });

  it('flattens memberUid, member and uniqueMember groups', async () => {
    const snapshot = await store().snapshot();
    const members = new Map(snapshot.groups.map((group) => [group.name, [...group.members].sort()]));

    expect([...members.keys()].sort()).toEqual(['ana', 'auditors', 'empty', 'ops', 'sre']);
    expect(members.get('ops')).toEqual(['ana', 'ghost', 'zoe']);
    expect(members.get('empty')).toEqual([]);
    // sre → nested-a → nested-b → nested-a: the cycle ends and every person on the way counts once.
    expect(members.get('sre')).toEqual(['ana', 'old', 'zoe']);
    // A DN outside the people base keeps its uid RDN; a DN with no uid RDN is dropped.
    expect(members.get('auditors')).toEqual(['gecosy', 'outsider']);
  });
});
