// Applies inbox entries to the directory: each entry names people to reconcile, then is marked done.

import { DirectoryError, errorMessage } from '../errors.ts';
import type { InboxEntry } from '../sources/okta-events.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { type OktaSyncDeps, type SyncOutcome, syncOktaUser } from './okta-sync.ts';

const INBOX_PREFIX = 'inbox/';
const PROCESSED_PREFIX = 'processed/';

export interface InboxSyncDeps extends OktaSyncDeps {
  inbox: ObjectStore;
}

export interface EntryResult {
  key: string;
  /** False when the entry had already been applied; nothing was done again. */
  applied: boolean;
  outcomes: SyncOutcome[];
}

/** The marker written once an inbox entry is applied, so a redelivered S3 event is a no-op. */
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
  const entry = JSON.parse(object.body.toString('utf8')) as InboxEntry;

  const outcomes: SyncOutcome[] = [];
  for (const userId of entry.userIds) {
    const outcome = await syncOktaUser(userId, deps);
    deps.log.info('person reconciled', { eventId: entry.uuid, eventType: entry.eventType, ...outcome });
    outcomes.push(outcome);
  }
  await deps.inbox.put(processedKeyOf(key), JSON.stringify({ appliedAt: new Date().toISOString() }));
  return { key, applied: true, outcomes };
}

/** Applies every inbox entry not yet marked done, oldest key order; one failure does not stop the rest. */
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
