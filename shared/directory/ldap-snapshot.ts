// Reads the whole directory with paged searches and flattens RFC 2307 and RFC 2307bis memberships.

import { type Entry, type Filter, SizeLimitExceededError, TimeLimitExceededError } from 'ldapts';
import { DirectoryError } from '../errors.ts';
import { describeLdapError } from './ldap-connection.ts';
import {
  allValues,
  daysSinceEpoch,
  firstRdn,
  GROUP_FILTER,
  integerValue,
  type LdapAttributeNames,
  normalizeDn,
  PERSON_FILTER,
  personAttributes,
  personFromEntry,
  stripUniqueMemberUid,
} from './ldap-entries.ts';
import type { PagedReader } from './ldap-paged-reader.ts';
import type { DirectorySnapshot, Group, Person } from './model.ts';

export interface SnapshotSettings {
  /** The server as error messages name it. */
  server: string;
  peopleBase: string;
  groupsBase: string;
  attributes: LdapAttributeNames;
  /** Entries per page of the paged-results control; 0 reads in one request without paging. */
  pageSize: number;
  /** Server-side time limit per search request, in seconds (0: none). */
  timeLimitSeconds: number;
  /** Called once for each entry that cannot be read and is left out. */
  onSkippedEntry: (dn: string, reason: string) => void;
}

/** Group entries as read, before memberships are resolved. */
interface GroupEntry {
  name: string | undefined;
  gidNumber: number | undefined;
  memberUids: string[];
  memberDns: string[];
}

const MEMBER_ATTRIBUTES = ['memberUid', 'member', 'uniqueMember'];

/**
 * Reads every person and group. A size limit, time limit, referral or any other non-success
 * result raises an error from the search, so the caller never gets a partial directory.
 */
export async function readSnapshot(
  reader: PagedReader,
  settings: SnapshotSettings,
  now: Date,
): Promise<DirectorySnapshot> {
  const today = daysSinceEpoch(now);
  const people: Person[] = [];
  const personDns: string[] = [];
  await forEachEntry(
    reader,
    settings,
    settings.peopleBase,
    PERSON_FILTER,
    personAttributes(settings.attributes),
    (entry) => {
      const person = personFromEntry(entry, settings.attributes, today);
      if (typeof person === 'string') return settings.onSkippedEntry(entry.dn, person);
      people.push(person);
      personDns.push(entry.dn);
    },
  );

  const groupsByDn = new Map<string, GroupEntry>();
  const groupAttributes = [settings.attributes.groupName, 'gidNumber', ...MEMBER_ATTRIBUTES];
  await forEachEntry(reader, settings, settings.groupsBase, GROUP_FILTER, groupAttributes, (entry) => {
    groupsByDn.set(normalizeDn(entry.dn), {
      name: allValues(entry, settings.attributes.groupName)[0],
      gidNumber: integerValue(entry, 'gidNumber'),
      memberUids: allValues(entry, 'memberUid'),
      memberDns: [
        ...allValues(entry, 'member'),
        ...allValues(entry, 'uniqueMember').map(stripUniqueMemberUid),
      ],
    });
  });

  // Person DNs are normalised only when some group names members by DN (RFC 2307bis).
  const usesDns = [...groupsByDn.values()].some((group) => group.memberDns.length > 0);
  const usernamesByDn = new Map(
    usesDns ? people.map((person, index) => [normalizeDn(personDns[index] ?? ''), person.username]) : [],
  );
  return { people, groups: resolveGroups(groupsByDn, usernamesByDn, settings), readAt: now.toISOString() };
}

function resolveGroups(
  groupsByDn: ReadonlyMap<string, GroupEntry>,
  usernamesByDn: ReadonlyMap<string, string>,
  settings: SnapshotSettings,
): Group[] {
  const groups: Group[] = [];
  for (const [dn, entry] of groupsByDn) {
    // Groups without a gidNumber (plain groupOfNames) only feed nested memberships.
    if (entry.gidNumber === undefined) continue;
    if (!entry.name || !Number.isSafeInteger(entry.gidNumber)) {
      settings.onSkippedEntry(dn, 'missing group name or invalid gidNumber');
      continue;
    }
    const members = new Set<string>();
    collectMembers(dn, groupsByDn, usernamesByDn, members, new Set());
    groups.push({ name: entry.name, gidNumber: entry.gidNumber, members: [...members] });
  }
  return groups;
}

/**
 * Adds the usernames of a group and of every group nested in it. A person DN gives its uid. A DN
 * that is neither a known person nor a known group gives the value of a leading `uid=` RDN, as
 * nsscache does, and is dropped otherwise. `visited` stops cycles.
 */
function collectMembers(
  groupDn: string,
  groupsByDn: ReadonlyMap<string, GroupEntry>,
  usernamesByDn: ReadonlyMap<string, string>,
  members: Set<string>,
  visited: Set<string>,
): void {
  const group = groupsByDn.get(groupDn);
  if (!group || visited.has(groupDn)) return;
  visited.add(groupDn);

  for (const uid of group.memberUids) members.add(uid);
  for (const memberDn of group.memberDns) {
    const normalized = normalizeDn(memberDn);
    const username = usernamesByDn.get(normalized);
    if (username !== undefined) {
      members.add(username);
    } else if (groupsByDn.has(normalized)) {
      collectMembers(normalized, groupsByDn, usernamesByDn, members, visited);
    } else {
      const rdn = firstRdn(memberDn);
      if (rdn?.type === 'uid' && rdn.value) members.add(rdn.value);
    }
  }
}

/** Runs a subtree search and hands each entry to `visit` as it arrives, so pages are never held whole. */
async function forEachEntry(
  reader: PagedReader,
  settings: SnapshotSettings,
  base: string,
  filter: Filter,
  attributes: string[],
  visit: (entry: Entry) => void,
): Promise<void> {
  try {
    await reader.search(
      base,
      { filter, attributes, pageSize: settings.pageSize, timeLimitSeconds: settings.timeLimitSeconds },
      visit,
    );
  } catch (error) {
    throw new DirectoryError(`reading ${base} on ${settings.server} failed: ${readFailure(error)}`, {
      cause: error,
    });
  }
}

/** Explains why a read failed, with the fix for the two limits that would otherwise truncate a snapshot. */
function readFailure(error: unknown): string {
  if (error instanceof SizeLimitExceededError) {
    return 'the server size limit was reached, so the snapshot would be partial; turn paging on (LDAP_PAGE_SIZE) or raise the limit for the bind DN';
  }
  if (error instanceof TimeLimitExceededError) {
    return 'the server time limit was reached, so the snapshot would be partial; raise the limit for the bind DN or LDAP_TIMEOUT_MS';
  }
  return describeLdapError(error);
}
