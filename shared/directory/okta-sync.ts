// Reconcile, don't replay: make one person's directory entry match Okta's current state.

import { POSIX_NAME } from '../bundle/nss-maps.ts';
import { parseAuthorizedKey } from '../bundle/ssh-key.ts';
import type { Log } from '../log.ts';
import type { OktaClient, OktaGroup, OktaUser } from '../sources/okta-api.ts';
import type { DirectoryStore, Person, PersonStatus } from './model.ts';
import { isReservedName } from './reserved-names.ts';
import { resolveUsername } from './username.ts';

/** Okta statuses in which a person keeps access. STAGED people have not been activated yet. */
const ACTIVE_OKTA_STATUSES = new Set(['ACTIVE', 'PROVISIONED', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'RECOVERY']);

export interface OktaSyncSettings {
  /** Profile attribute holding SSH keys: a string array, or a string with one key per line. */
  keysAttribute: string;
  /** Okta groups whose names match become POSIX groups; others are ignored. */
  groupPattern: RegExp;
  /** Prefix of the groups the HR sync drives; the Okta sync neither adds nor removes them. */
  hrGroupPrefix?: string;
  /** Okta group names that put a person in scope; empty or unset admits everyone. */
  scopeGroups?: readonly string[];
}

export interface OktaSyncDeps {
  okta: Pick<OktaClient, 'getUser' | 'getUserGroups' | 'getGroupMembers'>;
  store: DirectoryStore;
  settings: OktaSyncSettings;
  log: Log;
}

/** The result of one reconcile, for the audit record and the decision to publish. */
export interface SyncOutcome {
  action: 'created' | 'updated' | 'deleted' | 'unchanged' | 'skipped';
  username?: string;
  changes: string[];
  /** The person before and after, for the audit record; absent when they did not exist. */
  before?: Person;
  after?: Person;
}

/** Reads the user and their groups from Okta and applies the difference to the directory. */
export async function syncOktaUser(
  userId: string,
  deps: OktaSyncDeps,
  retried = false,
): Promise<SyncOutcome> {
  const { store } = deps;
  const existing = await store.findPersonBySourceId(userId);
  const user = await deps.okta.getUser(userId);

  if (!user) {
    if (!existing) return { action: 'skipped', changes: ['not in Okta or the directory'] };
    // The groups are read first, so the audit record can name the host classes the person leaves.
    const groups = (await store.groupsOf(existing.username)).filter((name) => name !== existing.username);
    await store.deletePerson(existing.username);
    const changes = ['person', ...groups.map((name) => `-group ${name}`)];
    return { action: 'deleted', username: existing.username, changes, before: existing };
  }

  const oktaActive = ACTIVE_OKTA_STATUSES.has(user.status);
  const oktaGroups = oktaActive ? await deps.okta.getUserGroups(userId) : [];
  const inScope = isInScope(oktaGroups, deps.settings.scopeGroups);
  // HR's termination wins over Okta: the person stays disabled until HR reactivates them.
  const active = oktaActive && inScope && existing?.hrStatus !== 'terminated';
  const status: PersonStatus = active ? 'active' : 'disabled';
  // Never create someone who cannot log in: a STAGED, deactivated or out-of-scope user appears once that changes.
  if (!existing && status === 'disabled') {
    const reason =
      oktaActive && !inScope ? 'out of scope: in none of the scope groups' : `Okta status ${user.status}`;
    return { action: 'skipped', changes: [reason] };
  }

  const desired = {
    displayName: displayNameOf(user),
    email: user.profile.email,
    status,
    // A disabled person keeps no key in the directory, so no bundle or reader can hand one out.
    sshPublicKeys: status === 'active' ? keysOf(user, deps) : [],
  };
  const groups = status === 'active' ? await posixGroupsOf(oktaGroups, deps) : [];

  if (!existing) {
    const username = await resolveUsername(user.profile.login, userId, async (name) => {
      // A name held by this same Okta user means another sync created them a moment ago.
      const holder = await store.findPerson(name);
      if (holder) return holder.sourceId !== userId;
      // A group of that name would become the person's user-private group and hand its members to
      // them, unless it is this user's own private group, written just before their entry.
      if (!(await store.findGroup(name))) return false;
      return (await store.findPerson(name))?.sourceId !== userId;
    });
    // Another sync may have created this user while the name was chosen; update that entry instead.
    if (!retried && (await store.findPersonBySourceId(userId))) return syncOktaUser(userId, deps, true);
    let person: Person;
    try {
      person = await store.createPerson({ username, sourceId: userId, ...desired });
    } catch (error) {
      // Two syncs of one new user race: the loser finds the winner's entry and updates it instead.
      if (!retried && (await store.findPersonBySourceId(userId))) return syncOktaUser(userId, deps, true);
      throw error;
    }
    const changes = ['person', ...(await applyGroups(person, groups, deps))];
    return { action: 'created', username, changes, after: person };
  }

  const changes = changedFields(existing, desired);
  const after = changes.length > 0 ? await store.updatePerson(existing.username, desired) : existing;
  changes.push(...(await applyGroups(existing, groups, deps)));
  const action = changes.length > 0 ? 'updated' : 'unchanged';
  return { action, username: existing.username, changes, before: existing, after };
}

function displayNameOf(user: OktaUser): string {
  const profile = user.profile as Record<string, unknown>;
  if (typeof profile.displayName === 'string' && profile.displayName.trim()) return profile.displayName;
  const parts = [profile.firstName, profile.lastName].filter(
    (part) => typeof part === 'string' && part.trim(),
  );
  return parts.length > 0 ? parts.join(' ') : user.profile.login;
}

/** Splits values on line breaks and keeps each valid key once; an invalid key is skipped and logged. */
function keysOf(user: OktaUser, deps: OktaSyncDeps): string[] {
  const value = (user.profile as Record<string, unknown>)[deps.settings.keysAttribute];
  const values: unknown[] = Array.isArray(value)
    ? value
    : value === undefined || value === null
      ? []
      : [value];
  const keys: string[] = [];
  for (const text of values) {
    if (typeof text !== 'string') {
      const reason = `${deps.settings.keysAttribute} holds a ${typeof text}, not a string or a list of strings`;
      deps.log.warn('ssh key skipped', { userId: user.id, reason });
      continue;
    }
    for (const line of text.split(/\r\n|\r|\n/)) {
      if (line.trim() === '') continue;
      try {
        const key = parseAuthorizedKey(line).line;
        if (!keys.includes(key)) keys.push(key);
      } catch (error) {
        deps.log.warn('ssh key skipped', {
          userId: user.id,
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
  return keys;
}

/** Without scope groups everyone is in scope; with them, a person must be in at least one. */
function isInScope(groups: readonly OktaGroup[], scopeGroups: readonly string[] | undefined): boolean {
  if (!scopeGroups || scopeGroups.length === 0) return true;
  return groups.some((group) => scopeGroups.includes(group.profile.name));
}

async function posixGroupsOf(groups: readonly OktaGroup[], deps: OktaSyncDeps): Promise<string[]> {
  const names = new Set<string>();
  for (const group of groups) {
    if (!deps.settings.groupPattern.test(group.profile.name)) continue;
    const name = posixGroupName(group.profile.name);
    const problem = await groupNameProblem(name, deps);
    if (problem) deps.log.warn('group skipped', { group: group.profile.name, reason: problem });
    else names.add(name);
  }
  return [...names];
}

/**
 * Returns why a POSIX group name must not be used for a source group, or undefined when it may. A
 * reserved name would grant what the host gives that group (`%sudo` in sudoers); a person's name
 * would add members to their user-private group.
 */
export async function groupNameProblem(
  name: string,
  deps: { store: DirectoryStore; settings: { hrGroupPrefix?: string } },
): Promise<string | undefined> {
  if (!POSIX_NAME.test(name)) return 'no valid POSIX name';
  if (isReservedName(name)) return `${name} is a reserved system group`;
  const hrPrefix = deps.settings.hrGroupPrefix;
  if (hrPrefix && name.startsWith(hrPrefix)) return 'name has the prefix of HR-driven groups';
  if (await deps.store.findPerson(name)) return `${name} is a person's user-private group`;
  return undefined;
}

/** Lower-cases an Okta group name and replaces each run of other characters with `-`. */
export function posixGroupName(oktaName: string): string {
  return oktaName
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Makes the person's memberships equal `wanted`; the user-private group is never touched. */
async function applyGroups(person: Person, wanted: string[], deps: OktaSyncDeps): Promise<string[]> {
  const hrPrefix = deps.settings.hrGroupPrefix;
  const current = (await deps.store.groupsOf(person.username)).filter(
    (name) => name !== person.username && !(hrPrefix && name.startsWith(hrPrefix)),
  );
  const changes: string[] = [];
  for (const name of wanted.filter((group) => !current.includes(group))) {
    await deps.store.ensureGroup(name);
    await deps.store.addMember(name, person.username);
    changes.push(`+group ${name}`);
  }
  for (const name of current.filter((group) => !wanted.includes(group))) {
    await deps.store.removeMember(name, person.username);
    changes.push(`-group ${name}`);
  }
  return changes;
}

function changedFields(person: Person, desired: Partial<Person>): string[] {
  return (Object.keys(desired) as (keyof Person)[]).filter(
    (field) => JSON.stringify(person[field] ?? null) !== JSON.stringify(desired[field] ?? null),
  );
}

/**
 * Reconciles everyone a group event may have touched: the group's current members in Okta and, for
 * a deleted group, the members its POSIX group still lists. A rename keeps Okta's membership, so
 * reconciling the members moves them from the old POSIX group to the new one.
 */
export async function syncOktaGroup(
  group: { id: string; name: string },
  deps: OktaSyncDeps,
): Promise<SyncOutcome[]> {
  const userIds = new Set((await deps.okta.getGroupMembers(group.id)) ?? []);
  const posixName = posixGroupName(group.name);
  const snapshot = await deps.store.snapshot();
  const listed = snapshot.groups.find((candidate) => candidate.name === posixName)?.members ?? [];
  for (const person of snapshot.people) {
    if (person.sourceId && listed.includes(person.username)) userIds.add(person.sourceId);
  }
  const outcomes: SyncOutcome[] = [];
  for (const userId of userIds) outcomes.push(await syncOktaUser(userId, deps));
  return outcomes;
}
