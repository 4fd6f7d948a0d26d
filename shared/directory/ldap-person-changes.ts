// Turns a sync's PersonChanges into one LDAP modify, so a person never shows half an update.

import { Attribute, Change, type Entry } from 'ldapts';
import {
  allValues,
  DEACTIVATED_SHADOW_EXPIRE,
  HR_TERMINATED_VALUE,
  isIa5String,
  type LdapAttributeNames,
  surnameOf,
} from './ldap-entries.ts';
import { hasObjectClass } from './ldap-lookup.ts';
import type { Person, PersonChanges } from './model.ts';

/**
 * Builds the modifications for `changes`. Deactivation sets shadowExpire to day 1 and removes every
 * key; reactivation removes shadowExpire. Keys are never stored on a disabled person. A `replace`
 * with no values deletes an attribute and is a no-op when it is absent, so no step needs a prior read.
 */
export function personChanges(
  entry: Entry,
  current: Person,
  changes: PersonChanges,
  names: LdapAttributeNames,
): Change[] {
  const result: Change[] = [];
  const replace = (type: string, values: string[]) =>
    result.push(new Change({ operation: 'replace', modification: new Attribute({ type, values }) }));

  if (changes.displayName !== undefined && changes.displayName !== current.displayName) {
    const displayName = changes.displayName.trim() || current.username;
    replace('cn', [displayName]);
    replace('sn', [surnameOf(displayName, current.username)]);
    // gecos is read before cn and is ASCII-only (IA5String), so a stale one would hide the new name.
    replace('gecos', []);
  }

  if ('email' in changes && changes.email !== current.email)
    replace(names.mail, changes.email && isIa5String(changes.email) ? [changes.email] : []);

  if (
    names.employeeNumber &&
    changes.employeeNumber !== undefined &&
    changes.employeeNumber !== current.employeeNumber
  )
    replace(names.employeeNumber, [changes.employeeNumber]);

  // Only the one marker value is added or deleted, so other tools' values of the attribute survive.
  if (changes.hrStatus !== undefined && changes.hrStatus !== (current.hrStatus ?? 'active')) {
    const operation = changes.hrStatus === 'terminated' ? 'add' : 'delete';
    const marker = allValues(entry, names.hrStatus).find(
      (value) => value.toLowerCase() === HR_TERMINATED_VALUE,
    );
    const values = operation === 'add' ? [HR_TERMINATED_VALUE] : marker ? [marker] : [];
    if (values.length > 0)
      result.push(new Change({ operation, modification: new Attribute({ type: names.hrStatus, values }) }));
  }

  const status = changes.status ?? current.status;
  if (changes.status !== undefined && changes.status !== current.status) {
    addObjectClassIfMissing(entry, 'shadowAccount', result);
    replace('shadowExpire', status === 'disabled' ? [String(DEACTIVATED_SHADOW_EXPIRE)] : []);
  }

  const keys = status === 'disabled' ? [] : [...new Set(changes.sshPublicKeys ?? current.sshPublicKeys)];
  if (!sameKeys(keys, current.sshPublicKeys)) {
    if (keys.length > 0) addObjectClassIfMissing(entry, 'ldapPublicKey', result);
    replace(names.sshPublicKey, keys);
  }
  return result;
}

/** People from other tools may lack the auxiliary class an attribute needs; adding it keeps the modify valid. */
function addObjectClassIfMissing(entry: Entry, objectClass: string, result: Change[]): void {
  if (hasObjectClass(entry, objectClass)) return;
  result.unshift(
    new Change({
      operation: 'add',
      modification: new Attribute({ type: 'objectClass', values: [objectClass] }),
    }),
  );
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((key, index) => key === b[index]);
}
