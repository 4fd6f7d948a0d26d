// Single-entry lookups by escaped equality filters: one person or one group, or a clear error when ambiguous.

import { AndFilter, type Client, type Entry, EqualityFilter, type Filter, NoSuchObjectError } from 'ldapts';
import { DirectoryError } from '../errors.ts';
import { allValues, GROUP_FILTER, PERSON_FILTER } from './ldap-entries.ts';

/** Everything a lookup needs to know about the directory layout. */
export interface LookupSettings {
  server: string;
  peopleBase: string;
  groupsBase: string;
  usernameAttribute: string;
  groupNameAttribute: string;
}

/**
 * Returns the only entry under `base` matching `filter`, undefined when none (or the base is
 * missing), and throws when several match, because writing to a guessed entry is worse than stopping.
 */
export async function findOne(
  client: Client,
  settings: LookupSettings,
  base: string,
  filter: Filter,
  attributes: string[],
  description: string,
): Promise<Entry | undefined> {
  let entries: Entry[];
  try {
    // ldapts sends EqualityFilter values as BER octets, so no value can change the filter's structure.
    ({ searchEntries: entries } = await client.search(base, { scope: 'sub', filter, attributes }));
  } catch (error) {
    if (error instanceof NoSuchObjectError) return undefined;
    throw error;
  }
  if (entries.length > 1) {
    const dns = entries.map((entry) => entry.dn).join('; ');
    throw new DirectoryError(
      `${description} matches ${entries.length} entries under ${base} on ${settings.server}: ${dns}`,
    );
  }
  return entries[0];
}

export function findPersonEntry(
  client: Client,
  settings: LookupSettings,
  attribute: string,
  value: string,
  attributes: string[],
): Promise<Entry | undefined> {
  const filter = new AndFilter({ filters: [PERSON_FILTER, new EqualityFilter({ attribute, value })] });
  return findOne(client, settings, settings.peopleBase, filter, attributes, `person ${attribute}=${value}`);
}

export function findGroupEntry(
  client: Client,
  settings: LookupSettings,
  name: string,
  attributes: string[],
): Promise<Entry | undefined> {
  const filter = new AndFilter({
    filters: [GROUP_FILTER, new EqualityFilter({ attribute: settings.groupNameAttribute, value: name })],
  });
  return findOne(client, settings, settings.groupsBase, filter, attributes, `group ${name}`);
}

/** Checks whether an entry lists an object class, compared case-insensitively as LDAP does. */
export function hasObjectClass(entry: Entry, objectClass: string): boolean {
  return allValues(entry, 'objectClass').some((value) => value.toLowerCase() === objectClass.toLowerCase());
}
