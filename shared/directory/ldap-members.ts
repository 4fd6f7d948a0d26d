// Group membership writes in the attribute each group uses: memberUid names, or member / uniqueMember DNs.

import {
  AndFilter,
  Attribute,
  Change,
  type Client,
  type Entry,
  EqualityFilter,
  type Filter,
  NoSuchAttributeError,
  OrFilter,
  PresenceFilter,
  TypeOrValueExistsError,
} from 'ldapts';
import type { MemberMode } from './ldap-config.ts';
import { allValues, GROUP_FILTER, normalizeDn, stripUniqueMemberUid } from './ldap-entries.ts';
import { hasObjectClass, type LookupSettings } from './ldap-lookup.ts';

export type MemberAttribute = 'memberUid' | 'member' | 'uniqueMember';

export const MEMBER_ATTRIBUTES: readonly MemberAttribute[] = ['memberUid', 'member', 'uniqueMember'];

/** A person as membership values name them: by username (memberUid) or by DN (member, uniqueMember). */
export interface MemberIdentity {
  username: string;
  /** Absent when the person entry does not exist; only memberUid values can then be written or removed. */
  dn?: string;
}

/**
 * Picks the attribute a new member is written to. `auto` follows the group: groupOfNames or an existing
 * `member` value means member, groupOfUniqueNames or `uniqueMember` means uniqueMember, else memberUid.
 */
export function memberAttributeFor(group: Entry, mode: MemberMode): MemberAttribute {
  if (mode !== 'auto') return mode;
  if (hasObjectClass(group, 'groupOfNames') || allValues(group, 'member').length > 0) return 'member';
  if (hasObjectClass(group, 'groupOfUniqueNames') || allValues(group, 'uniqueMember').length > 0)
    return 'uniqueMember';
  return 'memberUid';
}

/** Adds the person to the group; a value already present counts as done. */
export async function addMemberValue(
  client: Client,
  group: Entry,
  attribute: MemberAttribute,
  member: MemberIdentity,
): Promise<void> {
  const value = attribute === 'memberUid' ? member.username : member.dn;
  if (value === undefined)
    throw new Error(`${member.username} has no entry, so no ${attribute} DN can name them`);
  try {
    await client.modify(
      group.dn,
      new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [value] }) }),
    );
  } catch (error) {
    if (!(error instanceof TypeOrValueExistsError)) throw error;
  }
}

/** Removes every value naming the person from the group, in whichever membership attribute it is. */
export async function removeMemberValues(
  client: Client,
  group: Entry,
  member: MemberIdentity,
): Promise<void> {
  const changes = memberValues(group, member).map(
    ([attribute, values]) =>
      new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values }) }),
  );
  if (changes.length === 0) return;
  try {
    await client.modify(group.dn, changes);
  } catch (error) {
    // A concurrent removal got there first; the member is gone either way.
    if (!(error instanceof NoSuchAttributeError)) throw error;
  }
}

/**
 * Finds every group entry that lists the person directly. uniqueMember values may carry an optional
 * `#'…'B` UID, which an equality filter without one does not match, so every group with
 * uniqueMember values is fetched and checked here.
 */
export async function groupsListing(
  client: Client,
  settings: LookupSettings,
  member: MemberIdentity,
): Promise<Entry[]> {
  const conditions: Filter[] = [new EqualityFilter({ attribute: 'memberUid', value: member.username })];
  if (member.dn !== undefined) {
    conditions.push(new EqualityFilter({ attribute: 'member', value: member.dn }));
    conditions.push(new PresenceFilter({ attribute: 'uniqueMember' }));
  }
  const { searchEntries } = await client.search(settings.groupsBase, {
    scope: 'sub',
    filter: new AndFilter({ filters: [GROUP_FILTER, new OrFilter({ filters: conditions })] }),
    attributes: [
      settings.groupNameAttribute,
      'gidNumber',
      'objectClass',
      'description',
      ...MEMBER_ATTRIBUTES,
    ],
    // Paged, so a person in more groups than the server's size limit still gets every one.
    paged: true,
  });
  return searchEntries.filter((group) => memberValues(group, member).length > 0);
}

/** Returns the values of one membership attribute that name the person. */
function matchingValues(group: Entry, attribute: MemberAttribute, member: MemberIdentity): string[] {
  if (attribute === 'memberUid')
    return allValues(group, attribute).filter((value) => value === member.username);
  if (member.dn === undefined) return [];
  const personDn = normalizeDn(member.dn);
  return allValues(group, attribute).filter((value) => normalizeDn(stripUniqueMemberUid(value)) === personDn);
}

/** Returns every membership value in the group that names the person, by attribute. */
function memberValues(group: Entry, member: MemberIdentity): [MemberAttribute, string[]][] {
  return MEMBER_ATTRIBUTES.map((attribute): [MemberAttribute, string[]] => [
    attribute,
    matchingValues(group, attribute, member),
  ]).filter(([, values]) => values.length > 0);
}
