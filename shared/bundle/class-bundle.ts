// Turns one directory snapshot into the files of one host class's bundle. Pure: no I/O.

import type { DirectorySnapshot, Group, Person } from '../directory/model.ts';
import type { HostClassPolicy } from '../policy/policy.ts';
import { renderCache, renderIndex } from './index-file.ts';
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
  const people = selectPeople(snapshot, hostClass);
  const admitted = new Set(people.map((person) => person.username));
  const excluded = snapshot.people.filter((person) => !admitted.has(person.username));
  const excludedNames = new Set(excluded.map((person) => person.username));
  const groups = withoutPrivateGroupsOf(snapshot.groups, excluded);

  const { maps, skipped } = buildMaps(people, groups, excludedNames, shellOption(hostClass));
  const files = new Map<BundleFileName, Buffer>();
  addCache(files, 'passwd', maps.passwd, true);
  addCache(files, 'group', maps.group, true);
  addCache(files, 'shadow', maps.shadow, false);
  files.set('sshkey.cache', renderCache(maps.sshkey).cache);

  const sudoers = renderSudoers(hostClass.name, hostClass.sudo);
  if (sudoers) files.set('sudoers', sudoers);
  if (hostClass.emergencyKeys && emergencyKeys.length > 0) {
    files.set('emergency_authorized_keys', Buffer.from(`${emergencyKeys.join('\n')}\n`));
  }
  const written = new Set(maps.passwd.map((record) => record.name));
  return { files, people: [...written], skipped };
}

function shellOption(hostClass: HostClassPolicy): { shellOverride?: string } {
  return hostClass.shellOverride ? { shellOverride: hostClass.shellOverride } : {};
}

/** A group is a person's private group when it carries their name and their primary gidNumber. */
function withoutPrivateGroupsOf(groups: readonly Group[], excluded: readonly Person[]): Group[] {
  const privateGroups = new Set(excluded.map((person) => `${person.username}:${person.gidNumber}`));
  return groups.filter((group) => !privateGroups.has(`${group.name}:${group.gidNumber}`));
}

/** Adds a cache and its index files: by name always, by id (uid or gid) for passwd and group. */
function addCache(
  files: Map<BundleFileName, Buffer>,
  map: 'passwd' | 'group' | 'shadow',
  records: readonly NssRecord[],
  indexById: boolean,
): void {
  const { cache, offsets } = renderCache(records);
  files.set(`${map}.cache`, cache);
  files.set(
    `${map}.cache.ixname`,
    renderIndex(records.map((record, row) => ({ key: record.name, offset: offsets[row] ?? 0 }))),
  );
  if (!indexById) return;
  const idIndex = map === 'passwd' ? 'passwd.cache.ixuid' : 'group.cache.ixgid';
  files.set(
    idIndex,
    renderIndex(records.map((record, row) => ({ key: String(record.id), offset: offsets[row] ?? 0 }))),
  );
}
