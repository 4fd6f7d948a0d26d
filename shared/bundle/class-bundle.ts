// Turns one directory snapshot into the files of one host class's bundle. Pure: no I/O.

import type { DirectorySnapshot, Group, Person } from '../directory/model.ts';
import type { HostClassPolicy } from '../policy/policy.ts';
import { sortByBytes } from './byte-order.ts';
import { renderCache, renderIndex, renderLines } from './index-file.ts';
import type { BundleFileName } from './manifest.ts';
import { buildMaps, type NssRecord, type SkippedRecord } from './nss-maps.ts';
import { renderSudoers } from './sudoers.ts';

export interface ClassFiles {
  files: Map<BundleFileName, Buffer>;
  /** Usernames in the class's passwd map, sorted. */
  people: string[];
  skipped: SkippedRecord[];
}

/** Returns the active people the class admits: everyone for `*`, else members of an allowed group. */
export function selectPeople(snapshot: DirectorySnapshot, hostClass: HostClassPolicy): Person[] {
  const active = snapshot.people.filter((person) => person.status === 'active');
  if (hostClass.allowGroups.includes('*')) return active;

  const allowed = snapshot.groups.filter((group) => hostClass.allowGroups.includes(group.name));
  const memberNames = new Set(allowed.flatMap((group) => group.members));
  const allowedGids = new Set(allowed.map((group) => group.gidNumber));
  return active.filter((person) => memberNames.has(person.username) || allowedGids.has(person.gidNumber));
}

/**
 * Builds every file of the class's bundle. Disabled people and people the class does not admit
 * appear nowhere: not in passwd, shadow or sshkey, not as group members, and their user-private
 * group is left out too.
 */
export function buildClassFiles(
  snapshot: DirectorySnapshot,
  hostClass: HostClassPolicy,
  emergencyKeys: readonly string[] = [],
): ClassFiles {
  return new BundleBuilder(snapshot).build(hostClass, emergencyKeys);
}

/** The maps of one set of admitted people, shared by every class that admits the same set. */
interface Selection {
  people: string[];
  skipped: SkippedRecord[];
  /** group, shadow and sshkey files, which do not depend on the shell. */
  shared: Map<BundleFileName, Buffer>;
  /** passwd records with each person's own shell, in byte order of the name. */
  passwd: NssRecord[];
  /** Row numbers of `passwd` in byte order of the uid as text, for the ixuid index. */
  uidOrder: number[];
  passwdFiles: Map<string, Map<BundleFileName, Buffer>>;
}

/**
 * Builds the bundles of many classes from one snapshot. Classes that admit the same groups share
 * their maps, and a shell override only rewrites the passwd map, so twenty classes cost little
 * more than one.
 */
export class BundleBuilder {
  private readonly selections = new Map<string, Selection>();

  constructor(private readonly snapshot: DirectorySnapshot) {}

  build(hostClass: HostClassPolicy, emergencyKeys: readonly string[] = []): ClassFiles {
    const selection = this.selectionFor(hostClass);
    const files = new Map<BundleFileName, Buffer>([
      ...this.passwdFiles(selection, hostClass.shellOverride ?? ''),
      ...selection.shared,
    ]);
    const sudoers = renderSudoers(hostClass.name, hostClass.sudo);
    if (sudoers) files.set('sudoers', sudoers);
    if (hostClass.emergencyKeys && emergencyKeys.length > 0) {
      files.set('emergency_authorized_keys', Buffer.from(`${emergencyKeys.join('\n')}\n`));
    }
    return { files, people: selection.people, skipped: selection.skipped };
  }

  private selectionFor(hostClass: HostClassPolicy): Selection {
    const key = hostClass.allowGroups.includes('*') ? '*' : JSON.stringify([...hostClass.allowGroups].sort());
    let selection = this.selections.get(key);
    if (!selection) {
      selection = this.select(hostClass);
      this.selections.set(key, selection);
    }
    return selection;
  }

  private select(hostClass: HostClassPolicy): Selection {
    const people = selectPeople(this.snapshot, hostClass);
    const admitted = new Set(people.map((person) => person.username));
    const excluded = this.snapshot.people.filter((person) => !admitted.has(person.username));
    const groups = withoutPrivateGroupsOf(this.snapshot.groups, excluded);
    const excludedNames = new Set(excluded.map((person) => person.username));
    const { maps, skipped } = buildMaps(people, groups, excludedNames);

    const shared = new Map<BundleFileName, Buffer>();
    addCache(shared, 'group', maps.group, true);
    addCache(shared, 'shadow', maps.shadow, false);
    shared.set('sshkey.cache', renderCache(maps.sshkey).cache);
    const rows = maps.passwd.map((record, row) => ({ row, uid: String(record.id) }));
    return {
      people: maps.passwd.map((record) => record.name),
      skipped,
      shared,
      passwd: maps.passwd,
      uidOrder: sortByBytes(rows, (entry) => entry.uid).map((entry) => entry.row),
      passwdFiles: new Map(),
    };
  }

  /** passwd and its indexes for one shell override ('' keeps each person's shell). */
  private passwdFiles(selection: Selection, shell: string): Map<BundleFileName, Buffer> {
    const cached = selection.passwdFiles.get(shell);
    if (cached) return cached;
    // The shell is the last field and contains no ':', so the override replaces what follows the last ':'.
    const records = selection.passwd;
    const lines = shell
      ? records.map((record) => record.line.slice(0, record.line.lastIndexOf(':') + 1) + shell)
      : records.map((record) => record.line);
    const { cache, offsets } = renderLines(lines);
    const byName = records.map((record, row) => ({ key: record.name, offset: offsets[row] ?? 0 }));
    const byUid = selection.uidOrder.map((row) => ({
      key: String(records[row]?.id),
      offset: offsets[row] ?? 0,
    }));
    const files = new Map<BundleFileName, Buffer>([
      ['passwd.cache', cache],
      ['passwd.cache.ixname', renderIndex(byName, { sorted: true })],
      ['passwd.cache.ixuid', renderIndex(byUid, { sorted: true })],
    ]);
    selection.passwdFiles.set(shell, files);
    return files;
  }
}

/** Removes the private groups of excluded people: a group with their name and their primary gidNumber. */
function withoutPrivateGroupsOf(groups: readonly Group[], excluded: readonly Person[]): Group[] {
  const privateGroups = new Set(excluded.map((person) => `${person.username}:${person.gidNumber}`));
  return groups.filter((group) => !privateGroups.has(`${group.name}:${group.gidNumber}`));
}

/** Adds a cache and its index files: by name always, by gid for group. */
function addCache(
  files: Map<BundleFileName, Buffer>,
  map: 'group' | 'shadow',
  records: readonly NssRecord[],
  indexById: boolean,
): void {
  const { cache, offsets } = renderCache(records);
  files.set(`${map}.cache`, cache);
  // Records come sorted by name from buildMaps, so the name index needs no second sort.
  const byName = records.map((record, row) => ({ key: record.name, offset: offsets[row] ?? 0 }));
  files.set(`${map}.cache.ixname`, renderIndex(byName, { sorted: true }));
  if (!indexById) return;
  files.set(
    'group.cache.ixgid',
    renderIndex(records.map((record, row) => ({ key: String(record.id), offset: offsets[row] ?? 0 }))),
  );
}
