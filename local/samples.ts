// Sample people for a first local run: Okta users with keys and groups.

import type { OktaUser } from '../shared/sources/okta-api.ts';
import { generateSshKey } from './ssh-keys.ts';

export interface SamplePerson {
  user: OktaUser;
  groups: string[];
}

/** Three people: one with two keys and two groups, one with one key, one with a non-ASCII name. */
export function samplePeople(): SamplePerson[] {
  const person = (
    id: string,
    login: string,
    firstName: string,
    lastName: string,
    keys: number,
    groups: string[],
  ) => ({
    user: {
      id,
      status: 'ACTIVE',
      profile: {
        login,
        email: login,
        firstName,
        lastName,
        sshPublicKeys: Array.from({ length: keys }, (_, n) => generateSshKey(`${login}#${n + 1}`).publicKey),
      },
    },
    groups,
  });
  return [
    person('00uSAMPLEANA', 'ana.lopez@example.test', 'Ana', 'López', 2, ['ssh-ops', 'Engineering']),
    person('00uSAMPLEBEN', 'ben.okafor@example.test', 'Ben', 'Okafor', 1, ['Engineering']),
    person('00uSAMPLEZOE', 'zoe.arger@example.test', 'Zoë', 'Ärger', 1, ['ssh-ops']),
  ];
}
