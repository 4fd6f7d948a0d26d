// User-private groups: created before their person, so an interrupted create leaves a group a retry can reuse.

import { AlreadyExistsError, type Client, type Entry, NoSuchObjectError } from 'ldapts';
import { DirectoryError } from '../errors.ts';
import { allocateNumber, type CounterSettings } from './ldap-counter.ts';
import { allValues, integerValue, PRIVATE_GROUP_DESCRIPTION } from './ldap-entries.ts';
import { findGroupEntry, type LookupSettings } from './ldap-lookup.ts';

export interface PrivateGroupSettings {
  lookup: LookupSettings;
  counter: CounterSettings;
  groupClasses: string[];
  /** Attributes a group lookup requests; must include gidNumber and description. */
  groupAttributes: string[];
}

/**
 * Returns the uidNumber for a new person. A private group left by an interrupted create is
 * reused with its number; otherwise a number is allocated and the group added with it.
 */
export async function privateGroupNumber(
  client: Client,
  settings: PrivateGroupSettings,
  username: string,
): Promise<number> {
  const { lookup } = settings;
  const group = await findGroupEntry(client, lookup, username, settings.groupAttributes);
  if (group) return leftoverGroupNumber(group, lookup.server);

  const number = await allocateNumber(client, settings.counter, 'uidNumber');
  try {
    await client.add(`${lookup.groupNameAttribute}=${username},${lookup.groupsBase}`, {
      objectClass: settings.groupClasses,
      [lookup.groupNameAttribute]: username,
      gidNumber: String(number),
      description: PRIVATE_GROUP_DESCRIPTION,
    });
    return number;
  } catch (error) {
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
  // A concurrent create of the same person added the group first; continue with its number.
  const winner = await findGroupEntry(client, lookup, username, settings.groupAttributes);
  if (!winner) throw new DirectoryError(`group ${username} on ${lookup.server} vanished during creation`);
  return leftoverGroupNumber(winner, lookup.server);
}

/** Checks whether fleet-login created this group as someone's user-private group. */
export function isMarkedPrivate(group: Entry): boolean {
  return allValues(group, 'description').includes(PRIVATE_GROUP_DESCRIPTION);
}

/** Deletes an entry; one already gone counts as deleted, so a retried delete completes. */
export async function deleteIgnoringMissing(client: Client, dn: string): Promise<void> {
  try {
    await client.del(dn);
  } catch (error) {
    if (!(error instanceof NoSuchObjectError)) throw error;
  }
}

function leftoverGroupNumber(group: Entry, server: string): number {
  const number = integerValue(group, 'gidNumber');
  if (!isMarkedPrivate(group) || number === undefined || !Number.isSafeInteger(number)) {
    throw new DirectoryError(
      `group ${group.dn} on ${server} already exists and is not a fleet-login user-private group; rename the group or pick another username`,
    );
  }
  return number;
}
