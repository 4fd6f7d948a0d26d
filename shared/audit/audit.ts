// Audit records: one per directory change, answering who, what, where, when and why.

import { parseAuthorizedKey } from '../bundle/ssh-key.ts';
import type { Person } from '../directory/model.ts';
import type { SyncOutcome } from '../directory/okta-sync.ts';
import type { Log } from '../log.ts';
import { admits, type Policy } from '../policy/policy.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** A person as the audit shows them: public keys as fingerprints, nothing secret. */
export interface PersonView {
  status: Person['status'];
  displayName: string;
  email?: string;
  uidNumber: number;
  keyFingerprints: string[];
  hrStatus?: Person['hrStatus'];
}

export interface AuditRecord {
  who: { source: 'okta' | 'hr'; actorId?: string; actorLogin?: string; actorType?: string };
  what: { action: SyncOutcome['action']; changes: string[]; before?: PersonView; after?: PersonView };
  where: { entry: string; hostClasses: string[] };
  when: { eventTime: string; appliedAt: string };
  why: { eventId: string; eventType: string };
}

/** Facts about the event behind a change, from the inbox entry. */
export interface AuditCause {
  source: 'okta' | 'hr';
  eventId: string;
  eventType: string;
  eventTime: string;
  actor?: { id?: string | null; type?: string | null; alternateId?: string | null };
}

/**
 * Builds the record of one change. Host classes are those that admitted the person before or after,
 * judged by their groups after the change and the group changes listed.
 */
export function buildAuditRecord(
  outcome: SyncOutcome,
  cause: AuditCause,
  groupsAfter: readonly string[],
  policy: Policy | undefined,
  appliedAt: Date,
): AuditRecord {
  const groupsBefore = groupsBeforeChange(groupsAfter, outcome.changes);
  const hostClasses = (policy?.hostClasses ?? [])
    .filter(
      (hostClass) =>
        admits(hostClass, outcome.before?.status === 'active', groupsBefore) ||
        admits(hostClass, outcome.after?.status === 'active', groupsAfter),
    )
    .map((hostClass) => hostClass.name);
  return {
    who: {
      source: cause.source,
      ...optional('actorId', cause.actor?.id ?? (cause.source === 'hr' ? 'hr-system' : undefined)),
      ...optional('actorLogin', cause.actor?.alternateId),
      ...optional('actorType', cause.actor?.type),
    },
    what: {
      action: outcome.action,
      changes: outcome.changes,
      ...(outcome.before ? { before: viewOf(outcome.before) } : {}),
      ...(outcome.after ? { after: viewOf(outcome.after) } : {}),
    },
    where: { entry: outcome.username ?? '(none)', hostClasses },
    when: { eventTime: cause.eventTime, appliedAt: appliedAt.toISOString() },
    why: { eventId: cause.eventId, eventType: cause.eventType },
  };
}

/** Writes the record under `audit/YYYY/MM/DD/` and logs it as one structured line. */
export async function writeAuditRecord(record: AuditRecord, store: ObjectStore, log: Log): Promise<string> {
  const day = record.when.appliedAt.slice(0, 10).replaceAll('-', '/');
  const key = `audit/${day}/${record.when.appliedAt}-${record.why.eventId}-${record.where.entry}.json`;
  // Logged before the write: if the write fails, the entry is retried, and the retry finds nothing
  // left to change, so this line is then the only record of the change.
  log.info('directory changed', { audit: record, auditKey: key });
  await store.put(key, `${JSON.stringify(record)}\n`);
  return key;
}

function viewOf(person: Person): PersonView {
  return {
    status: person.status,
    displayName: person.displayName,
    ...(person.email ? { email: person.email } : {}),
    uidNumber: person.uidNumber,
    keyFingerprints: person.sshPublicKeys.map(fingerprintOrNote),
    ...(person.hrStatus ? { hrStatus: person.hrStatus } : {}),
  };
}

function fingerprintOrNote(key: string): string {
  try {
    return parseAuthorizedKey(key).fingerprint;
  } catch {
    return '(unparsable key)';
  }
}

/** Undoes the `+group X` / `-group X` changes to recover the groups held before. */
function groupsBeforeChange(groupsAfter: readonly string[], changes: readonly string[]): string[] {
  const before = new Set(groupsAfter);
  for (const change of changes) {
    if (change.startsWith('+group ')) before.delete(change.slice(7));
    if (change.startsWith('-group ')) before.add(change.slice(7));
  }
  return [...before];
}

function optional<K extends string>(key: K, value: string | null | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}
