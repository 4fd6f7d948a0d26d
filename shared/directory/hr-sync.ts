// Applies an HR change: a terminated employee loses access whatever Okta reports; a department drives a group.

import { DirectoryError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { HrClient } from '../sources/hr-api.ts';
import type { HrFields, HrInboxEntry } from '../sources/hr-events.ts';
import type { DirectoryStore, Person } from './model.ts';
import { groupNameProblem, posixGroupName, type SyncOutcome } from './okta-sync.ts';

/** HR statuses that end access, compared in lower case. */
const INACTIVE_STATUSES = new Set(['inactive', 'terminated']);

export interface HrSyncSettings {
  /** HR field tried first to find the directory person; the other one is the fallback. */
  matchKey: 'workEmail' | 'employeeNumber';
  /** Prefix of the POSIX groups the HR group field drives, e.g. `dept-`; the Okta sync leaves them alone. */
  groupPrefix: string;
}

export interface HrSyncDeps {
  store: DirectoryStore;
  /** The HR API; without it only field-based deliveries, which carry the values, can be applied. */
  hr?: Pick<HrClient, 'getEmployee'>;
  settings: HrSyncSettings;
  log: Log;
  now?: () => Date;
  /** Called for a person whom HR made active again, so their Okta state (keys, groups) comes back. */
  resyncFromOkta?: (sourceId: string) => Promise<unknown>;
}

/** Applies one HR inbox entry to every directory person it matches; returns one outcome per person. */
export async function syncHrEntry(entry: HrInboxEntry, deps: HrSyncDeps): Promise<SyncOutcome[]> {
  // Reconcile, don't replay: with the HR API the employee's current record decides, so a late or
  // repeated delivery cannot undo a newer change. Without it, a field-based delivery's values count.
  if (!deps.hr && !entry.fields) {
    throw new DirectoryError(
      `HR entry ${entry.id} carries ids only and HR_API_URL is not set, so employee ${entry.employeeId} cannot be read`,
    );
  }
  const current = deps.hr ? await deps.hr.getEmployee(entry.employeeId) : undefined;
  const goneFromHr = entry.action === 'deleted' || (deps.hr !== undefined && current === undefined);
  const fields = current ?? entry.fields;
  // Every match acts: one email can belong to a person and their separate admin account.
  const people = await findPeople(fields, deps);
  if (people.length === 0)
    return [{ action: 'skipped', changes: ['no directory person matches the HR record'] }];
  const terminated = goneFromHr || fields === undefined || isTerminated(fields, deps.now?.() ?? new Date());
  const outcomes: SyncOutcome[] = [];
  for (const person of people) outcomes.push(await applyToPerson(person, fields, terminated, deps));
  return outcomes;
}

async function applyToPerson(
  person: Person,
  fields: HrFields | undefined,
  terminated: boolean,
  deps: HrSyncDeps,
): Promise<SyncOutcome> {
  const changes: string[] = [];
  if (terminated) {
    if (person.hrStatus !== 'terminated' || person.status !== 'disabled' || person.sshPublicKeys.length > 0) {
      await deps.store.updatePerson(person.username, {
        hrStatus: 'terminated',
        status: 'disabled',
        sshPublicKeys: [],
      });
      changes.push('hrStatus terminated', 'status disabled');
    }
    for (const group of await deps.store.groupsOf(person.username)) {
      await deps.store.removeMember(group, person.username);
      changes.push(`-group ${group}`);
    }
    return outcome(person, await deps.store.findPerson(person.username), changes);
  }

  if (person.hrStatus === 'terminated') {
    await deps.store.updatePerson(person.username, { hrStatus: 'active' });
    changes.push('hrStatus active');
    if (person.sourceId && deps.resyncFromOkta) await deps.resyncFromOkta(person.sourceId);
  }
  if (fields?.employeeNumber && fields.employeeNumber !== person.employeeNumber) {
    await deps.store.updatePerson(person.username, { employeeNumber: fields.employeeNumber });
    changes.push('employeeNumber');
  }
  changes.push(...(await applyHrGroup(person, fields?.group, deps)));
  return outcome(person, await deps.store.findPerson(person.username), changes);
}

function outcome(before: Person, after: Person | undefined, changes: string[]): SyncOutcome {
  const action = changes.length > 0 ? 'updated' : 'unchanged';
  return { action, username: before.username, changes, before, ...(after ? { after } : {}) };
}

/** Finds the people of an HR record by the configured key first, then by the other one. */
async function findPeople(fields: HrFields | undefined, deps: HrSyncDeps): Promise<Person[]> {
  if (!fields) return [];
  const byNumber = fields.employeeNumber
    ? () => deps.store.findPeopleBy('employeeNumber', fields.employeeNumber ?? '')
    : undefined;
  const byEmail = fields.workEmail
    ? () => deps.store.findPeopleBy('email', fields.workEmail ?? '')
    : undefined;
  const order = deps.settings.matchKey === 'employeeNumber' ? [byNumber, byEmail] : [byEmail, byNumber];
  for (const lookup of order) {
    const people = lookup ? await lookup() : [];
    if (people.length > 0) return people;
  }
  return [];
}

/** Inactive or terminated status, or a termination date that has arrived (dates compare as YYYY-MM-DD text). */
function isTerminated(fields: HrFields, now: Date): boolean {
  for (const status of [fields.status, fields.employmentStatus]) {
    if (status && INACTIVE_STATUSES.has(status.trim().toLowerCase())) return true;
  }
  const date = fields.terminationDate?.slice(0, 10);
  return (
    date !== undefined &&
    /^\d{4}-\d{2}-\d{2}$/.test(date) &&
    date !== '0000-00-00' &&
    date <= now.toISOString().slice(0, 10)
  );
}

/** Keeps the person in exactly one HR-driven group: the one named after the current group field value. */
async function applyHrGroup(person: Person, value: string | undefined, deps: HrSyncDeps): Promise<string[]> {
  const prefix = deps.settings.groupPrefix;
  let wanted = value ? `${prefix}${posixGroupName(value)}` : undefined;
  const problem = wanted && (await groupNameProblem(wanted, { store: deps.store, settings: {} }));
  if (problem) {
    deps.log.warn('group skipped', { group: value, reason: problem });
    wanted = undefined;
  }
  const current = (await deps.store.groupsOf(person.username)).filter((group) => group.startsWith(prefix));
  const changes: string[] = [];
  if (wanted && !current.includes(wanted)) {
    await deps.store.ensureGroup(wanted);
    await deps.store.addMember(wanted, person.username);
    changes.push(`+group ${wanted}`);
  }
  for (const group of current.filter((name) => name !== wanted)) {
    await deps.store.removeMember(group, person.username);
    changes.push(`-group ${group}`);
  }
  return changes;
}
