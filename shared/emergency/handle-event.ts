// Handles the emergency-key bucket's S3 events: one alert per change, a last-key alert, then a publish.

import type { Alerter } from '../alerts/alerter.ts';
import { errorMessage } from '../errors.ts';
import type { Log } from '../log.ts';
import {
  buildChangeAlert,
  buildNoKeysAlert,
  type ChangeReason,
  type ChangeReport,
  REASON_TAG,
} from './alert-message.ts';
import {
  type ChangeHistoryStore,
  findChange,
  type KeyHistory,
  type LoadedHistory,
  neighboursOf,
  type RecordedChange,
  withChange,
} from './change-history.ts';
import { type EmergencyBucket, parseEmergencyObject, readEmergencyKeys } from './emergency-keys.ts';
import { compareSequencers, type ObjectChange, parseNotification } from './s3-notification.ts';

export interface EmergencyEventDeps {
  /** Name of the emergency-key bucket. Records of other buckets are ignored. */
  bucketName: string;
  bucket: EmergencyBucket;
  history: ChangeHistoryStore;
  alerter: Alerter;
  /** Starts a publish, so hosts receive the bucket's valid keys inside their signed bundles. */
  requestPublish: () => Promise<void>;
  log: Log;
}

interface PendingHistory {
  loaded: LoadedHistory;
  added: RecordedChange[];
}

export interface EmergencyEventSummary {
  /** Changes alerted by this invocation. */
  alerted: number;
  duplicates: number;
  ignored: number;
  malformed: number;
  /** Valid keys in the bucket after the changes, absent when nothing new happened. */
  validKeys?: number;
  noKeysAlert: boolean;
  publishRequested: boolean;
}

/**
 * Alerts every change in the event that was not alerted before, sends a critical alert when the bucket
 * is left without a valid key, and requests a publish. Any failure is logged and thrown, so Lambda
 * retries the whole event. The alerted changes are recorded only at the end, so a retry alerts them
 * again rather than losing an alert.
 */
export async function handleEmergencyKeyEvent(
  event: unknown,
  deps: EmergencyEventDeps,
): Promise<EmergencyEventSummary> {
  try {
    return await handleChanges(event, deps);
  } catch (error) {
    deps.log.error('emergency key event failed, so Lambda retries it', {
      reason: errorMessage(error),
      cause: error instanceof Error && error.cause !== undefined ? errorMessage(error.cause) : undefined,
      error,
    });
    throw error;
  }
}

async function handleChanges(event: unknown, deps: EmergencyEventDeps): Promise<EmergencyEventSummary> {
  // 1. The emergency bucket's changes in the event.
  const notification = parseNotification(event, deps.bucketName, deps.log);
  const summary: EmergencyEventSummary = {
    alerted: 0,
    duplicates: 0,
    ignored: notification.ignored,
    malformed: notification.malformed,
    noKeysAlert: false,
    publishRequested: false,
  };

  // 2. One alert per change not alerted before, each key's changes in sequencer order.
  const { toSave, lastChange } = await alertNewChanges(notification.changes, deps, summary);
  if (!lastChange) {
    deps.log.info('emergency key event handled', { ...summary });
    return summary;
  }

  // 3. The bucket as it is now decides the last-key alert and what the publish distributes.
  const current = await readEmergencyKeys(deps.bucket);
  summary.validKeys = current.lines.length;
  if (current.lines.length === 0) {
    await deps.alerter.send(buildNoKeysAlert(lastChange, current));
    summary.noKeysAlert = true;
  }
  await deps.requestPublish();
  summary.publishRequested = true;

  // 4. Record the alerted changes last: a failure before this point makes the retry alert them again.
  for (const { loaded, added } of toSave) await deps.history.save(loaded, added);
  deps.log.info('emergency key event handled', { ...summary });
  return summary;
}

/** Alerts each change whose sequencer is not in its key's history, and returns the histories to save. */
async function alertNewChanges(
  changes: readonly ObjectChange[],
  deps: EmergencyEventDeps,
  summary: EmergencyEventSummary,
): Promise<{ toSave: PendingHistory[]; lastChange?: ObjectChange }> {
  const toSave: PendingHistory[] = [];
  let lastChange: ObjectChange | undefined;
  for (const group of groupByKey(changes)) {
    const first = group[0];
    if (!first) continue;
    const loaded = await deps.history.load(first.bucket, first.key);
    let history = loaded.history;
    const added: RecordedChange[] = [];
    for (const change of group) {
      if (findChange(history, change.sequencer)) {
        deps.log.info('duplicate S3 event skipped', { key: change.key, sequencer: change.sequencer });
        summary.duplicates += 1;
        continue;
      }
      const recorded = await alertChange(change, history, deps);
      history = withChange(history, recorded);
      added.push(recorded);
      summary.alerted += 1;
      lastChange = change;
    }
    if (added.length > 0) toSave.push({ loaded, added });
  }
  return { toSave, ...(lastChange && { lastChange }) };
}

/** Sends the alert for one new change and returns the change as the history records it. */
async function alertChange(
  change: ObjectChange,
  history: KeyHistory,
  deps: EmergencyEventDeps,
): Promise<RecordedChange> {
  const { previous, next } = neighboursOf(history, change.sequencer);
  const base = { sequencer: change.sequencer, kind: change.kind, eventTime: change.eventTime };
  let report: ChangeReport;
  let recorded: RecordedChange;

  if (change.kind === 'removed') {
    const removedFingerprints = previous?.kind === 'created' ? previous.fingerprints : undefined;
    report = {
      change,
      action: 'removed',
      reason: { kind: 'not-read' },
      ...(removedFingerprints && { removedFingerprints }),
    };
    recorded = base;
  } else {
    const { content, reason } = await readChangedObject(change, deps);
    report = { change, action: previous?.kind === 'created' ? 'replaced' : 'added', content, reason };
    recorded =
      content.kind === 'read' ? { ...base, fingerprints: content.keys.map((key) => key.fingerprint) } : base;
  }
  if (next) report.supersededBy = next;

  await deps.alerter.send(buildChangeAlert(report));
  deps.log.info('emergency key change alerted', {
    key: change.key,
    action: report.action,
    sequencer: change.sequencer,
    validKeys: report.content?.kind === 'read' ? report.content.keys.length : undefined,
    invalidLines: report.content?.kind === 'read' ? report.content.invalid.length : undefined,
    superseded: next !== undefined,
  });
  return recorded;
}

/** Reads the version the event names and its reason tag. Failures become part of the alert, never a lost alert. */
async function readChangedObject(
  change: ObjectChange,
  deps: EmergencyEventDeps,
): Promise<{ content: NonNullable<ChangeReport['content']>; reason: ChangeReason }> {
  let object: Awaited<ReturnType<EmergencyBucket['getVersion']>>;
  try {
    object = await deps.bucket.getVersion(change.key, change.versionId);
  } catch (error) {
    deps.log.warn('emergency key object unreadable', { key: change.key, versionId: change.versionId, error });
    return { content: { kind: 'unreadable', error: errorMessage(error) }, reason: { kind: 'not-read' } };
  }
  if (object.kind !== 'found') return { content: { kind: 'gone' }, reason: { kind: 'not-read' } };

  const content = { kind: 'read' as const, ...parseEmergencyObject(object.body) };
  try {
    const tags = await deps.bucket.getTags(change.key, change.versionId);
    const value = tags[REASON_TAG];
    return { content, reason: value === undefined ? { kind: 'none' } : { kind: 'tag', value } };
  } catch (error) {
    deps.log.warn('emergency key object tags unreadable', {
      key: change.key,
      versionId: change.versionId,
      error,
    });
    return { content, reason: { kind: 'unreadable', error: errorMessage(error) } };
  }
}

/** Groups changes by object key, in order of first appearance, each group sorted by sequencer. */
function groupByKey(changes: readonly ObjectChange[]): ObjectChange[][] {
  const groups = new Map<string, ObjectChange[]>();
  for (const change of changes) {
    const group = groups.get(change.key) ?? [];
    group.push(change);
    groups.set(change.key, group);
  }
  return [...groups.values()].map((group) =>
    group.sort((a, b) => compareSequencers(a.sequencer, b.sequencer)),
  );
}
