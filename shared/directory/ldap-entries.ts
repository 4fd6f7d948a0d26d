// Maps directory entries to people and groups and back: attribute names, object classes, DNs and dates.

import { type Entry, EqualityFilter, OrFilter } from 'ldapts';
import type { NewPerson, Person, PersonStatus, ShadowFields } from './model.ts';

/** Attribute names the store reads and writes; the defaults are the standard RFC 2307 and inetOrgPerson names. */
export interface LdapAttributeNames {
  username: string;
  /**
   * Attribute for the Okta user id. The default `employeeNumber` is a single-valued, equality-indexed
   * identifier of inetOrgPerson. A directory that already keeps HR numbers there must pick another.
   */
  sourceId: string;
  sshPublicKey: string;
  mail: string;
  groupName: string;
  /**
   * Multi-valued attribute where the HR sync adds the value `terminated` (HR_TERMINATED_VALUE); other
   * values there are left alone. The default `employeeType` describes the employment relationship.
   */
  hrStatus: string;
  /** Attribute holding the HR employee number, for HR matching by number; unset means not stored. */
  employeeNumber?: string;
}

/** Value the HR sync adds to the hrStatus attribute of a terminated person, compared without case. */
export const HR_TERMINATED_VALUE = 'terminated';

export const DEFAULT_ATTRIBUTES: LdapAttributeNames = {
  username: 'uid',
  sourceId: 'employeeNumber',
  sshPublicKey: 'sshPublicKey',
  mail: 'mail',
  groupName: 'cn',
  hrStatus: 'employeeType',
};

export interface LdapObjectClasses {
  person: string[];
  group: string[];
  counter: string[];
}

export const DEFAULT_OBJECT_CLASSES: LdapObjectClasses = {
  person: ['top', 'inetOrgPerson', 'posixAccount', 'shadowAccount', 'ldapPublicKey'],
  group: ['top', 'posixGroup'],
  // NOTE: extensibleObject lets the counter carry uidNumber and gidNumber without a custom schema;
  // a directory with its own counter class can name it here instead.
  counter: ['top', 'applicationProcess', 'extensibleObject'],
};

/**
 * Value of `description` on user-private groups that fleet-login creates. It distinguishes a group
 * left by an interrupted createPerson, which a retry may reuse, from a shared group of the same name.
 */
export const PRIVATE_GROUP_DESCRIPTION = 'fleet-login user-private group';

/** shadowExpire written on deactivation: day 1 of the epoch, which is always in the past. */
export const DEACTIVATED_SHADOW_EXPIRE = 1;

const SHADOW_ATTRIBUTES: Record<keyof ShadowFields, string> = {
  lastChange: 'shadowLastChange',
  min: 'shadowMin',
  max: 'shadowMax',
  warning: 'shadowWarning',
  inactive: 'shadowInactive',
  expire: 'shadowExpire',
  flag: 'shadowFlag',
};

/** Entries that can hold members; plain groupOfNames without a gidNumber count only as nested groups. */
export const GROUP_FILTER = new OrFilter({
  filters: ['posixGroup', 'groupOfNames', 'groupOfUniqueNames'].map(
    (value) => new EqualityFilter({ attribute: 'objectClass', value }),
  ),
});

export const PERSON_FILTER = new EqualityFilter({ attribute: 'objectClass', value: 'posixAccount' });

/** uniqueMember values may end in `#'0101'B`, an optional unique identifier (RFC 4519 nameAndOptionalUID). */
export function stripUniqueMemberUid(value: string): string {
  return value.replace(/#'[01]*'B$/, '');
}

/** Attributes a person read requests; asking for fewer keeps large snapshots fast. */
export function personAttributes(names: LdapAttributeNames): string[] {
  return [
    names.username,
    'cn',
    'gecos',
    'uidNumber',
    'gidNumber',
    'homeDirectory',
    'loginShell',
    names.mail,
    names.sourceId,
    names.sshPublicKey,
    names.hrStatus,
    ...(names.employeeNumber ? [names.employeeNumber] : []),
    ...Object.values(SHADOW_ATTRIBUTES),
  ];
}

/** Days since 1970-01-01 (UTC), the unit of every shadow* attribute. */
export function daysSinceEpoch(date: Date): number {
  return Math.floor(date.getTime() / 86_400_000);
}

/**
 * Derives whether a person may log in: disabled when shadowExpire is set and falls on or before today.
 * Zero and negative values mean "never expires", as shadow(5) advises against 0 and tools write -1.
 */
export function statusFromShadow(expire: number | undefined, today: number): PersonStatus {
  return expire !== undefined && expire >= 1 && expire <= today ? 'disabled' : 'active';
}

/**
 * Marks entries whose attribute names are exactly the requested ones (the PagedReader renames them),
 * so a missing name means a missing attribute and needs no case-insensitive search.
 */
export const EXACT_NAMES = Symbol('attribute names as requested');

/**
 * Returns an attribute's raw value. ldapts keys entries by the name the server sent and adds requested
 * attributes that are absent as `[]`, so a miss on the exact name means the server changed its case.
 */
function rawValue(entry: Entry, name: string): Entry[string] | undefined {
  const exact = entry[name];
  if (exact !== undefined || (entry as { [EXACT_NAMES]?: true })[EXACT_NAMES]) return exact;
  const lowerName = name.toLowerCase();
  const key = Object.keys(entry).find((candidate) => candidate.toLowerCase() === lowerName);
  return key === undefined ? undefined : entry[key];
}

/** First value of an attribute as a string, or undefined. */
export function firstValue(entry: Entry, name: string): string | undefined {
  const value = rawValue(entry, name);
  if (Array.isArray(value)) {
    const first = value[0];
    return first === undefined ? undefined : String(first);
  }
  return value === undefined ? undefined : String(value);
}

/** Returns every value of an attribute as strings. */
export function allValues(entry: Entry, name: string): string[] {
  const value = rawValue(entry, name);
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** Reads an integer attribute; undefined when absent, NaN when not a decimal integer. */
export function integerValue(entry: Entry, name: string): number | undefined {
  const text = firstValue(entry, name);
  if (text === undefined) return undefined;
  return /^-?[0-9]+$/.test(text.trim()) ? Number(text) : Number.NaN;
}

/**
 * Turns a person entry into a Person, or returns the reason it cannot be one.
 * GECOS comes from `gecos` when present, else `cn`, the order nsscache uses.
 */
export function personFromEntry(entry: Entry, names: LdapAttributeNames, today: number): Person | string {
  const username = firstValue(entry, names.username);
  if (!username) return `missing ${names.username}`;
  const uidNumber = integerValue(entry, 'uidNumber');
  const gidNumber = integerValue(entry, 'gidNumber');
  if (uidNumber === undefined || !Number.isSafeInteger(uidNumber)) return 'missing or invalid uidNumber';
  if (gidNumber === undefined || !Number.isSafeInteger(gidNumber)) return 'missing or invalid gidNumber';

  const shadow = shadowFromEntry(entry);
  const keys = allValues(entry, names.sshPublicKey).map((key) => key.trim());
  const person: Person = {
    username,
    uidNumber,
    gidNumber,
    displayName: firstValue(entry, 'gecos') ?? firstValue(entry, 'cn') ?? username,
    homeDirectory: firstValue(entry, 'homeDirectory') ?? `/home/${username}`,
    loginShell: firstValue(entry, 'loginShell') ?? '',
    status: statusFromShadow(shadow?.expire, today),
    // A key with a line break would split its sshkey.cache record, so such values are dropped.
    sshPublicKeys: keys.filter((key) => key !== '' && !/[\r\n]/.test(key)),
  };
  const email = firstValue(entry, names.mail);
  const sourceId = firstValue(entry, names.sourceId);
  if (email !== undefined) person.email = email;
  if (sourceId !== undefined) person.sourceId = sourceId;
  if (shadow) person.shadow = shadow;
  if (allValues(entry, names.hrStatus).some((value) => value.toLowerCase() === HR_TERMINATED_VALUE)) {
    person.hrStatus = 'terminated';
  }
  const employeeNumber = names.employeeNumber ? firstValue(entry, names.employeeNumber) : undefined;
  if (employeeNumber !== undefined) person.employeeNumber = employeeNumber;
  return person;
}

const SHADOW_FIELDS = Object.entries(SHADOW_ATTRIBUTES) as [keyof ShadowFields, string][];

function shadowFromEntry(entry: Entry): ShadowFields | undefined {
  let shadow: ShadowFields | undefined;
  for (const [field, attribute] of SHADOW_FIELDS) {
    const value = integerValue(entry, attribute);
    if (value === undefined || !Number.isSafeInteger(value)) continue;
    shadow ??= {};
    shadow[field] = value;
  }
  return shadow;
}

/** `sn` is required by the person class: the last word of the display name, else the username. */
export function surnameOf(displayName: string, username: string): string {
  const words = displayName.trim().split(/\s+/).filter(Boolean);
  return words.at(-1) ?? username;
}

/** Attributes of a new person entry. Disabled people get shadowExpire and no keys, as after deactivation. */
export function newPersonAttributes(
  person: NewPerson,
  number: number,
  names: LdapAttributeNames,
  classes: LdapObjectClasses,
): Record<string, string[]> {
  const displayName = person.displayName.trim() || person.username;
  const attributes: Record<string, string[]> = {
    objectClass: classes.person,
    [names.username]: [person.username],
    cn: [displayName],
    sn: [surnameOf(displayName, person.username)],
    uidNumber: [String(number)],
    gidNumber: [String(number)],
    homeDirectory: [`/home/${person.username}`],
    loginShell: ['/bin/bash'],
    [names.sourceId]: [person.sourceId],
  };
  if (person.email && isIa5String(person.email)) attributes[names.mail] = [person.email];
  if (person.status === 'disabled') attributes.shadowExpire = [String(DEACTIVATED_SHADOW_EXPIRE)];
  else if (person.sshPublicKeys.length > 0)
    attributes[names.sshPublicKey] = [...new Set(person.sshPublicKeys)];
  return attributes;
}

/**
 * Normalises a DN for comparison: attribute types and values lower-cased, spaces around `=` and
 * `,` removed. Enough for the case-insensitive uid and cn values people and group DNs use.
 */
export function normalizeDn(dn: string): string {
  return splitDn(dn)
    .map((rdn) => {
      const equals = rdn.indexOf('=');
      if (equals < 0) return rdn.trim().toLowerCase();
      return `${rdn.slice(0, equals).trim().toLowerCase()}=${rdn
        .slice(equals + 1)
        .trim()
        .toLowerCase()}`;
    })
    .join(',');
}

/** Returns the attribute type and unescaped value of a DN's first RDN. */
export function firstRdn(dn: string): { type: string; value: string } | undefined {
  const rdn = splitDn(dn)[0];
  const equals = rdn?.indexOf('=') ?? -1;
  if (!rdn || equals < 0) return undefined;
  return {
    type: rdn.slice(0, equals).trim().toLowerCase(),
    value: unescapeDnValue(rdn.slice(equals + 1).trim()),
  };
}

/** Splits a DN at commas that are not escaped with a backslash. */
function splitDn(dn: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let index = 0; index < dn.length; index++) {
    const character = dn[index];
    if (character === '\\' && index + 1 < dn.length) {
      current += character + dn[index + 1];
      index++;
    } else if (character === ',') {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts;
}

function unescapeDnValue(value: string): string {
  return value.replace(/\\([0-9a-fA-F]{2}|.)/g, (_match, escaped: string) =>
    escaped.length === 2 ? String.fromCharCode(Number.parseInt(escaped, 16)) : escaped,
  );
}

/**
 * True for text the `mail` attribute accepts: its syntax is IA5String (ASCII), so slapd rejects a
 * non-ASCII address, and with it the whole modify, deactivation included. Such an address is left out.
 */
export function isIa5String(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: IA5 is all of ASCII, control characters included.
  return /^[\u0000-\u007f]*$/.test(value);
}
