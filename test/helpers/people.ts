// A directory person for tests, with a user-private gidNumber equal to the uidNumber.

import type { Person } from '../../shared/directory/model.ts';

/** An active person named `username` with one placeholder key; override any field. */
export function person(username: string, uidNumber: number, overrides: Partial<Person> = {}): Person {
  return {
    username,
    uidNumber,
    gidNumber: uidNumber,
    displayName: username,
    homeDirectory: `/home/${username}`,
    loginShell: '/bin/bash',
    status: 'active',
    sshPublicKeys: [`ssh-ed25519 AAAA${username} ${username}@test`],
    ...overrides,
  };
}
