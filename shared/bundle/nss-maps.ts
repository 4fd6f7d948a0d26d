// Renders people and groups into the nsscache "files" maps that libnss-cache and the agent read.

import type { Group, Person, ShadowFields } from '../directory/model.ts';
import { isReservedName } from '../directory/reserved-names.ts';
import { sortByBytes } from './byte-order.ts';

/** POSIX login names fleet-login writes: ASCII, at most 32 characters, no leading digit or dash. */
export const POSIX_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** Longest GECOS field written, in UTF-8 bytes; longer display names are cut at a character boundary. */
export const GECOS_MAX_BYTES = 256;

/**
 * Characters no field of a colon-separated, one-line record may hold: C0 and C1 control characters,
 * `:`, the Unicode line and paragraph separators, and the bidirectional formatting characters that
 * can make a record display differently from its bytes.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the purpose.
const UNSAFE_IN_RECORD = /[\u0000-\u001f\u007f-\u009f:\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Every match of UNSAFE_IN_RECORD, for replacing. */
const UNSAFE_ALL = new RegExp(UNSAFE_IN_RECORD, 'g');

/** Maps a host class is given, one record per line, before rendering to bytes. */
export interface NssMaps {
  passwd: NssRecord[];
  group: NssRecord[];
  shadow: NssRecord[];
  sshkey: NssRecord[];
}

/** One cache line and the index keys that point at it. */
export interface NssRecord {
  line: string;
  name: string;
  id?: number;
}

export interface SkippedRecord {
  name: string;
  reason: string;
}

export interface MapOptions {
  /** Replaces every person's login shell (bastion classes). */
  shellOverride?: string;
}

/**
 * Cleans a display name for the GECOS field: control characters (newlines included), bidirectional
 * formatting characters and `:` become spaces, runs of spaces collapse, and the result is trimmed
 * and cut to GECOS_MAX_BYTES. Commas stay, because GECOS uses them to separate its own sub-fields.
 */
export function cleanGecos(displayName: string): string {
  const cleaned = displayName.replace(UNSAFE_ALL, ' ').replace(/\s+/g, ' ').trim();
  if (Buffer.byteLength(cleaned) <= GECOS_MAX_BYTES) return cleaned;
  const bytes = Buffer.from(cleaned).subarray(0, GECOS_MAX_BYTES);
  // Drop a trailing partial UTF-8 sequence, which decodes to U+FFFD.
  return bytes.toString('utf8').replace(/\uFFFD+$/, '');
}

/** Returns why a field cannot be written into a colon-separated record, or undefined when it can. */
function fieldProblem(label: string, value: string): string | undefined {
  if (UNSAFE_IN_RECORD.test(value)) return `${label} contains ':' or a control character`;
  return undefined;
}

/**
 * Builds the four maps for one host class. People must already be filtered to the class.
 * Group members that are people of the snapshot but not in `people` are dropped; members the
 * snapshot does not know are kept as they are, as nsscache does.
 */
export function buildMaps(
  people: readonly Person[],
  groups: readonly Group[],
  excludedNames: ReadonlySet<string>,
  options: MapOptions = {},
): { maps: NssMaps; skipped: SkippedRecord[] } {
  const skipped: SkippedRecord[] = [];
  const maps: NssMaps = { passwd: [], group: [], shadow: [], sshkey: [] };

  const duplicateNames = duplicates(people.map((person) => person.username));
  for (const person of sortByName(people, (p) => p.username)) {
    const shell = options.shellOverride ?? person.loginShell;
    const problem =
      entryProblem(person.username, person.uidNumber, duplicateNames, 'uidNumber') ??
      fieldProblem('homeDirectory', person.homeDirectory) ??
      fieldProblem('loginShell', shell);
    if (problem) {
      skipped.push({ name: person.username, reason: problem });
      continue;
    }
    const gecos = cleanGecos(person.displayName);
    const name = person.username;
    maps.passwd.push({
      name,
      id: person.uidNumber,
      line: `${name}:x:${person.uidNumber}:${person.gidNumber}:${gecos}:${person.homeDirectory}:${shell}`,
    });
    maps.shadow.push({ name, line: `${name}:*:${shadowFields(person.shadow)}` });
    for (const key of person.sshPublicKeys) maps.sshkey.push({ name, line: `${name}:${key}` });
  }

  const duplicateGroups = duplicates(groups.map((group) => group.name));
  for (const group of sortByName(groups, (g) => g.name)) {
    const problem = entryProblem(group.name, group.gidNumber, duplicateGroups, 'gidNumber');
    if (problem) {
      skipped.push({ name: group.name, reason: problem });
      continue;
    }
    // User-private groups, most of a large directory's groups, have no members to filter or sort.
    const kept =
      group.members.length === 0
        ? []
        : [...new Set(group.members)].filter(
            (member) => !excludedNames.has(member) && POSIX_NAME.test(member),
          );
    const members = kept.length < 2 ? kept : sortByBytes(kept, (member) => member);
    maps.group.push({
      name: group.name,
      id: group.gidNumber,
      line: `${group.name}:*:${group.gidNumber}:${members.join(',')}`,
    });
  }
  return { maps, skipped };
}

/**
 * Lowest uidNumber and gidNumber published. Below it are the system accounts and groups of every
 * distribution (root 0, sudo 27 on Debian, wheel 10), which an entry written by another tool must
 * never be able to claim on hosts.
 */
export const MIN_PUBLISHED_ID = 1000;

/**
 * Returns why a person or group from the directory is left out of every map, or undefined. Besides
 * an invalid name or a system id, a name of the reserved list or a name held by two entries is
 * refused: either would let a directory entry stand in for a host's own account or group.
 */
function entryProblem(
  name: string,
  id: number,
  duplicateNames: ReadonlySet<string>,
  idLabel: string,
): string | undefined {
  if (!POSIX_NAME.test(name)) return 'name is not a valid POSIX name';
  if (!Number.isSafeInteger(id) || id < MIN_PUBLISHED_ID)
    return `${idLabel} ${id} is below ${MIN_PUBLISHED_ID}, the system range`;
  if (isReservedName(name)) return `${name} is reserved for the hosts' own accounts and groups`;
  if (duplicateNames.has(name)) return `${name} is held by more than one directory entry`;
  return undefined;
}

function duplicates(names: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) repeated.add(name);
    seen.add(name);
  }
  return repeated;
}

/** Formats the seven shadow fields after the password, nsscache style: unset and zero values are written empty. */
function shadowFields(shadow: ShadowFields = {}): string {
  const values = [
    shadow.lastChange,
    shadow.min,
    shadow.max,
    shadow.warning,
    shadow.inactive,
    shadow.expire,
    shadow.flag,
  ];
  return values.map((value) => (value ? String(value) : '')).join(':');
}

function sortByName<T>(items: readonly T[], nameOf: (item: T) => string): T[] {
  return sortByBytes(items, nameOf);
}
