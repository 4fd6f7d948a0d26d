// Generates a deterministic directory snapshot of any size for the benchmarks.

import type { DirectorySnapshot, Group, Person } from '../../shared/directory/model.ts';

const FIRST_UID = 100_000;
const FIRST_GID = 500_000;

/** A 68-character base64 blob shaped like an Ed25519 key, different per person and key. */
function fakeKey(person: number, key: number): string {
  const seed = Buffer.alloc(51);
  seed.writeUInt32BE(person, 0);
  seed.writeUInt32BE(key, 4);
  return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${seed.toString('base64').slice(0, 43)} p${person}@bench${key}`;
}

/** `people` people in `groupCount` shared groups; each person is in two groups and has one or two keys. */
export function generateSnapshot(people: number, groupCount: number): DirectorySnapshot {
  const persons: Person[] = [];
  const groups: Group[] = Array.from({ length: groupCount }, (_, n) => ({
    name: `team-${n}`,
    gidNumber: FIRST_GID + n,
    members: [] as string[],
  }));
  for (let n = 0; n < people; n++) {
    const username = `user${String(n).padStart(6, '0')}`;
    const uidNumber = FIRST_UID + n;
    persons.push({
      username,
      uidNumber,
      gidNumber: uidNumber,
      displayName: n % 10 === 0 ? `Zoë Ärger ${n}` : `Bench Person ${n}`,
      homeDirectory: `/home/${username}`,
      loginShell: '/bin/bash',
      status: 'active',
      sshPublicKeys: n % 2 === 0 ? [fakeKey(n, 1), fakeKey(n, 2)] : [fakeKey(n, 1)],
    });
    groups.push({ name: username, gidNumber: uidNumber, members: [] });
    groups[n % groupCount]?.members.push(username);
    groups[(n * 7 + 3) % groupCount]?.members.push(username);
  }
  return { people: persons, groups, readAt: new Date().toISOString() };
}
