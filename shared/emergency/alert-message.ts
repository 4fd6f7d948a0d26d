// The on-call alerts for emergency keys: who, what, where, when and why of each change, in plain text.

import type { Alert } from '../alerts/alerter.ts';
import type { InvalidKeyLine, ParsedKey } from '../bundle/ssh-key.ts';
import type { RecordedChange } from './change-history.ts';
import type { EmergencyKeys } from './emergency-keys.ts';
import type { ObjectChange } from './s3-notification.ts';

/** The object tag whose value is shown as the reason for a change. */
export const REASON_TAG = 'reason';

/** Keys and invalid lines listed in one alert. The rest are counted, so the message stays within SNS limits. */
const MAX_LINES_LISTED = 50;
const MAX_SHOWN_CHARACTERS = 160;

/** Content found in the object that a created change names. */
export type ObjectContent =
  | { kind: 'read'; keys: ParsedKey[]; invalid: InvalidKeyLine[] }
  /** The object, or the version the event named, no longer exists. */
  | { kind: 'gone' }
  | { kind: 'unreadable'; error: string };

/** Reason tag of the changed object, or `not-read` when the object was removed, gone or unreadable. */
export type ChangeReason =
  | { kind: 'tag'; value: string }
  | { kind: 'none' }
  | { kind: 'not-read' }
  | { kind: 'unreadable'; error: string };

export interface ChangeReport {
  change: ObjectChange;
  action: 'added' | 'replaced' | 'removed';
  /** For added and replaced objects. */
  content?: ObjectContent;
  /** For removed objects: fingerprints of the last recorded version, when one is on record. */
  removedFingerprints?: string[];
  reason: ChangeReason;
  /** A later change to the same key that was alerted before this one arrived. */
  supersededBy?: RecordedChange;
}

/** Builds the alert for one change: a one-line subject and a body with the who, what, where, when and why. */
export function buildChangeAlert(report: ChangeReport): Alert {
  const { change, action } = report;
  const subject = `Emergency key ${action}: ${printable(change.key)} by ${printable(change.principalId)}`;
  const lines = [
    subject,
    '',
    `What: ${action}, S3 event ${printable(change.eventName)}`,
    ...whoWhenWhere(change),
    `Why: ${describeReason(report.reason)}`,
    ...describeKeys(report),
    `Order: ${describeOrder(report)}`,
  ];
  if (change.requestId !== undefined) lines.push(`S3 request id: ${printable(change.requestId)}`);
  const unreadable = report.content?.kind === 'unreadable';
  return {
    subject,
    message: `${lines.join('\n')}\n`,
    severity: action === 'removed' && !unreadable ? 'warning' : 'critical',
  };
}

/** Builds the alert sent when the bucket contains no valid emergency key after a change. */
export function buildNoKeysAlert(change: ObjectChange, keys: EmergencyKeys): Alert {
  const subject = `No emergency keys left after ${printable(change.key)} was changed by ${printable(change.principalId)}`;
  const lines = [
    subject,
    '',
    'The emergency-key bucket contains no valid key, so no host class has a break-glass login any more.',
    `Bucket: ${printable(change.bucket)}, ${keys.objects} objects, ${keys.invalid.length} invalid lines`,
    `Last change: ${change.kind === 'removed' ? 'removed' : 'created'} ${quoted(change.key)}`,
    ...whoWhenWhere(change),
    'Next step: put a valid key into the bucket unless the fleet is meant to have no break-glass path.',
  ];
  return { subject, message: `${lines.join('\n')}\n`, severity: 'critical' };
}

function whoWhenWhere(change: ObjectChange): string[] {
  const version =
    change.versionId === undefined ? 'none (bucket not versioned)' : printable(change.versionId);
  return [
    `Who: principal ${printable(change.principalId)}, source IP ${printable(change.sourceIp)}`,
    `When: ${printable(change.eventTime)}`,
    `Where: bucket ${printable(change.bucket)}, key ${quoted(change.key)}, version ${version}, region ${printable(change.region)}`,
  ];
}

function describeReason(reason: ChangeReason): string {
  if (reason.kind === 'tag') return quoted(reason.value);
  if (reason.kind === 'unreadable')
    return `unknown, because reading the object's tags failed: ${printable(reason.error)}`;
  if (reason.kind === 'not-read') return 'unknown, because the object could not be read for its tags';
  return `unknown, because the object has no "${REASON_TAG}" tag`;
}

function describeKeys(report: ChangeReport): string[] {
  if (report.action === 'removed') {
    if (!report.removedFingerprints)
      return ['Removed keys: unknown, because no earlier version of this object is on record'];
    return [
      `Removed keys (${report.removedFingerprints.length}, as last read):`,
      ...listed(report.removedFingerprints),
    ];
  }
  const content = report.content;
  if (!content || content.kind === 'gone') {
    return ['Keys: unknown, because the object was deleted before it could be read'];
  }
  if (content.kind === 'unreadable')
    return [`Keys: unknown, because reading the object failed: ${printable(content.error)}`];

  // A private key dropped into the bucket must not be copied into email and chat: its lines are
  // listed by number only, and the alert tells on-call to treat the key as leaked.
  const privateKey = content.invalid.some((line) => PRIVATE_KEY_MARKER.test(line.line));
  const describeInvalid = (line: InvalidKeyLine) =>
    privateKey
      ? `line ${line.lineNumber}: not shown: ${printable(line.reason)}`
      : `line ${line.lineNumber}: ${quoted(line.line)}: ${printable(line.reason)}`;
  return [
    ...(privateKey
      ? [
          'WARNING: the object contains a PRIVATE KEY. Treat that key as leaked: delete the object and replace the key.',
        ]
      : []),
    `Valid keys (${content.keys.length}, sent to host classes that admit emergency keys):`,
    ...listed(content.keys.map(describeKey)),
    `Invalid lines (${content.invalid.length}, never sent to hosts):`,
    ...listed(content.invalid.map(describeInvalid)),
  ];
}

/** The armour line of a PEM or OpenSSH private key. */
const PRIVATE_KEY_MARKER = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

function describeKey(key: ParsedKey): string {
  const parts = [key.type, key.fingerprint];
  if (key.comment !== undefined) parts.push(`comment ${quoted(key.comment)}`);
  if (key.options !== undefined) parts.push(`options ${quoted(key.options)}`);
  return parts.join(' ');
}

function describeOrder(report: ChangeReport): string {
  const sequencer = `sequencer ${printable(report.change.sequencer)}`;
  const later = report.supersededBy;
  if (!later) return sequencer;
  const laterKind = later.kind === 'removed' ? 'removal' : 'write';
  return `${sequencer}, delivered after a later ${laterKind} (sequencer ${printable(later.sequencer)}), which decides the current state`;
}

function listed(items: readonly string[]): string[] {
  if (items.length === 0) return ['  (none)'];
  const shown = items.slice(0, MAX_LINES_LISTED).map((item) => `  - ${item}`);
  if (items.length > MAX_LINES_LISTED) shown.push(`  ... and ${items.length - MAX_LINES_LISTED} more`);
  return shown;
}

/**
 * Escapes control, line-separator and bidirectional formatting characters as `\uXXXX`, and shortens
 * long values. Keys, tags and invalid lines come from any writer to the bucket, so they must not be
 * able to add lines to an alert or make it read differently from the bytes it reports.
 */
export function printable(text: string, maxCharacters = MAX_SHOWN_CHARACTERS): string {
  const short = text.length > maxCharacters ? `${text.slice(0, maxCharacters)}...` : text;
  return short.replace(/[\p{Cc}\u200e\u200f\u2028-\u202e\u2066-\u2069]/gu, (character) => {
    return `\\u${(character.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  });
}

/** Returns the value in double quotes, with `\` and `"` escaped and the rest as printable() makes it. */
export function quoted(text: string): string {
  return `"${printable(text.replaceAll('\\', '\\\\').replaceAll('"', '\\"'))}"`;
}
