import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedDirectoryStore } from '../../shared/directory/embedded-store.ts';
import type { NewPerson } from '../../shared/directory/model.ts';
import { DirectoryError } from '../../shared/errors.ts';
import { tempDir } from '../helpers/temp.ts';

const newPerson = (username: string): NewPerson => ({
  username,
  displayName: username,
  sourceId: `00u${username}`,
  status: 'active',
  sshPublicKeys: [],
});

async function openStore() {
  const path = join(await tempDir(), 'directory.json');
  return {
    path,
    store: new EmbeddedDirectoryStore(path, { firstUidNumber: 200000, firstGidNumber: 600000 }),
  };
}

describe('EmbeddedDirectoryStore', () => {
  it('creates a person with a user-private group and finds them by source id', async () => {
    const { store } = await openStore();
    const ana = await store.createPerson(newPerson('ana'));
    expect(ana).toMatchObject({
      uidNumber: 200000,
      gidNumber: 200000,
      homeDirectory: '/home/ana',
      loginShell: '/bin/bash',
    });
    expect((await store.snapshot()).groups).toEqual([{ name: 'ana', gidNumber: 200000, members: [] }]);
    expect(await store.findPersonBySourceId('00uana')).toEqual(ana);
  });

  it('gives 50 parallel creates 50 distinct uidNumbers', async () => {
    const { store } = await openStore();
    const people = await Promise.all(
      Array.from({ length: 50 }, (_, n) => store.createPerson(newPerson(`p${n}`))),
    );
    expect(new Set(people.map((person) => person.uidNumber)).size).toBe(50);
  });

  it('never reuses the uidNumber of a deleted person', async () => {
    const { store } = await openStore();
    const ana = await store.createPerson(newPerson('ana'));
    await store.deletePerson('ana');
    const ben = await store.createPerson(newPerson('ben'));
    expect(ben.uidNumber).toBeGreaterThan(ana.uidNumber);
  });

  it('removes a deleted person from every group and drops their private group', async () => {
    const { store } = await openStore();
    await store.createPerson(newPerson('ana'));
    await store.ensureGroup('ops');
    await store.addMember('ops', 'ana');
    await store.deletePerson('ana');
    expect((await store.snapshot()).groups).toEqual([{ name: 'ops', gidNumber: 600000, members: [] }]);
  });

  it('adds and removes members once each', async () => {
    const { store } = await openStore();
    await store.createPerson(newPerson('ana'));
    await store.ensureGroup('ops');
    await store.addMember('ops', 'ana');
    await store.addMember('ops', 'ana');
    expect(await store.groupsOf('ana')).toEqual(['ops']);
    await store.removeMember('ops', 'ana');
    expect(await store.groupsOf('ana')).toEqual([]);
  });

  it('rejects a second person with the same username', async () => {
    const { store } = await openStore();
    await store.createPerson(newPerson('ana'));
    await expect(store.createPerson(newPerson('ana'))).rejects.toThrow(DirectoryError);
  });

  it('fails on an update of a person it does not hold, naming them', async () => {
    const { store } = await openStore();
    await expect(store.updatePerson('ghost', { displayName: 'x' })).rejects.toThrow(/person ghost not found/);
  });

  it('keeps the file valid JSON after every write', async () => {
    const { path, store } = await openStore();
    await store.createPerson(newPerson('ana'));
    await store.updatePerson('ana', { sshPublicKeys: ['ssh-ed25519 AAAA a'] });
    const file = JSON.parse(await readFile(path, 'utf8'));
    expect(file.people[0].sshPublicKeys).toEqual(['ssh-ed25519 AAAA a']);
    expect(file.nextUidNumber).toBe(200001);
  });

  it('reports a malformed file instead of starting empty', async () => {
    const { path } = await openStore();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, '{"format":2}');
    await expect(new EmbeddedDirectoryStore(path).snapshot()).rejects.toThrow(/is malformed/);
  });
});
