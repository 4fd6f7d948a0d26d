// Applies inbox entries to the directory: each names people to reconcile, is audited, then marked done.

import { type AuditCause, buildAuditRecord, writeAuditRecord } from '../audit/audit.ts';
import { DirectoryError, errorMessage } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import type { HrInboxEntry } from '../sources/hr-events.ts';
import type { InboxEntry } from '../sources/okta-events.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type HrSyncDeps, syncHrEntry } from './hr-sync.ts';
import { type OktaSyncDeps, type SyncOutcome, syncOktaGroup, syncOktaUser } from './okta-sync.ts';

const INBOX_PREFIX = 'inbox/';
const PROCESSED_PREFIX = 'processed/';

export interface InboxSyncDeps extends OktaSyncDeps {
  inbox: ObjectStore;
  /** Needed only for HR entries; an HR entry without it fails and stays pending. */
  /** HR matching settings, and the HR API client when HR_API_URL is set. */
  hr?: Pick<HrSyncDeps, 'hr' | 'settings'>;
  /** Bucket for audit records; without it each record is only logged. */
  audit?: ObjectStore;
  policy?: Policy;
  now?: () => Date;
}

export interface EntryResult {
  key: string;
  /** False when the entry had already been applied; nothing was done again. */
  applied: boolean;
  outcomes: SyncOutcome[];
}

/** Returns the key of the marker written once an inbox entry is applied, so a redelivered S3 event is a no-op. */
export function processedKeyOf(inboxKey: string): string {
  return `${PROCESSED_PREFIX}${inboxKey.slice(INBOX_PREFIX.length)}`;
}

/**
 * Applies one inbox entry. Throws on any failure before the marker is written, so the caller
 * (Lambda's retry, or the next local run) applies it again; reconciling twice is harmless.
 */
export async function applyInboxEntry(key: string, deps: InboxSyncDeps): Promise<EntryResult> {
  if (!key.startsWith(INBOX_PREFIX)) throw new DirectoryError(`${key} is not an inbox key`);
  if ((await deps.inbox.get(processedKeyOf(key))).kind === 'found')
    return { key, applied: false, outcomes: [] };

  const object = await deps.inbox.get(key);
  if (object.kind !== 'found')
    throw new DirectoryError(`inbox entry ${key} not found in ${deps.inbox.location}`);
  const entry = JSON.parse(object.body.toString('utf8')) as InboxEntry | HrInboxEntry;

  const { outcomes, cause } =
    entry.source === 'hr' ? await applyHr(entry, deps) : await applyOkta(entry, deps);
  for (const outcome of outcomes) {
    deps.log.info('person reconciled', {
      eventId: cause.eventId,
      eventType: cause.eventType,
      action: outcome.action,
      username: outcome.username,
      changes: outcome.changes,
    });
    if (outcome.action === 'unchanged' || outcome.action === 'skipped') continue;
    await audit(outcome, cause, deps);
  }
  await deps.inbox.put(processedKeyOf(key), JSON.stringify({ appliedAt: new Date().toISOString() }));
  return { key, applied: true, outcomes };
}

async function applyOkta(entry: InboxEntry, deps: InboxSyncDeps) {
  const outcomes: SyncOutcome[] = [];
  for (const userId of entry.userIds) outcomes.push(await syncOktaUser(userId, deps));
  for (const group of entry.groups ?? []) outcomes.push(...(await syncOktaGroup(group, deps)));
  const cause: AuditCause = {
    source: 'okta',
    eventId: entry.uuid,
    eventType: entry.eventType,
    eventTime: entry.published,
    ...(entry.actor ? { actor: entry.actor } : {}),
  };
  return { outcomes, cause };
}

async function applyHr(entry: HrInboxEntry, deps: InboxSyncDeps) {
  if (!deps.hr)
    throw new DirectoryError(`inbox entry ${entry.id} is from the HR system, whose settings are missing`);
  const outcomes = await syncHrEntry(entry, {
    ...deps.hr,
    store: deps.store,
    log: deps.log,
    ...(deps.now ? { now: deps.now } : {}),
    resyncFromOkta: (sourceId) => syncOktaUser(sourceId, deps),
  });
  const cause: AuditCause = {
    source: 'hr',
    eventId: entry.id,
    eventType: `employee.${entry.action}`,
    eventTime: entry.eventTime,
  };
  return { outcomes, cause };
}

async function audit(outcome: SyncOutcome, cause: AuditCause, deps: InboxSyncDeps): Promise<void> {
  const groups =
    outcome.username && outcome.action !== 'deleted' ? await deps.store.groupsOf(outcome.username) : [];
  const record = buildAuditRecord(outcome, cause, groups, deps.policy, deps.now?.() ?? new Date());
  if (deps.audit) await writeAuditRecord(record, deps.audit, deps.log);
  else deps.log.info('directory changed', { audit: record });
}

/** Applies every inbox entry not yet marked done, in key order; one failure does not stop the rest. */
export async function applyPendingEntries(
  deps: InboxSyncDeps,
): Promise<{ results: EntryResult[]; failed: string[] }> {
  const processed = new Set(await deps.inbox.list(PROCESSED_PREFIX));
  const pending = (await deps.inbox.list(INBOX_PREFIX)).filter((key) => !processed.has(processedKeyOf(key)));
  const results: EntryResult[] = [];
  const failed: string[] = [];
  for (const key of pending) {
    try {
      results.push(await applyInboxEntry(key, deps));
    } catch (error) {
      deps.log.error('inbox entry failed', { key, error: errorMessage(error) });
      failed.push(key);
    }
  }
  return { results, failed };
}

/** True when any outcome changed the directory, so bundles must be published. */
export function directoryChanged(results: readonly EntryResult[]): boolean {
  return results.some((result) =>
    result.outcomes.some((outcome) => outcome.action !== 'unchanged' && outcome.action !== 'skipped'),
  );
}
