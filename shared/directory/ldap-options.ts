// The LDAP store's options as plain values, and the settings each part of the store derives from them.

import {
  FIRST_GID_NUMBER,
  FIRST_UID_NUMBER,
  LDAP_CONNECT_TIMEOUT_MS,
  LDAP_PAGE_SIZE,
  LDAP_TIMEOUT_MS,
  type MemberMode,
} from './ldap-config.ts';
import { LdapConnector, type TlsSource } from './ldap-connection.ts';
import type { CounterSettings } from './ldap-counter.ts';
import {
  DEFAULT_ATTRIBUTES,
  DEFAULT_OBJECT_CLASSES,
  type LdapAttributeNames,
  type LdapObjectClasses,
} from './ldap-entries.ts';
import type { LookupSettings } from './ldap-lookup.ts';
import { MEMBER_ATTRIBUTES } from './ldap-members.ts';
import type { PrivateGroupSettings } from './ldap-private-groups.ts';
import type { SnapshotSettings } from './ldap-snapshot.ts';

/** Everything the store needs, as plain values, so tests and the config loader pass them the same way. */
export interface LdapStoreOptions {
  /** `ldaps://host:port`, or `ldap://host:port` with `startTls: true`. */
  url: string;
  startTls?: boolean;
  bindDn: string;
  /** The resolved bind password; never logged and never part of an error. */
  bindPassword: string;
  /** CA, client certificate and key (and optionally servername), or a function returning them per connection. */
  tls: TlsSource;
  bases: { people: string; groups: string };
  /** Entry holding the next free uidNumber and gidNumber; created when missing. */
  counterDn: string;
  timeoutMs?: number;
  connectTimeoutMs?: number;
  pageSize?: number;
  memberMode?: MemberMode;
  attributes?: Partial<LdapAttributeNames>;
  objectClasses?: Partial<LdapObjectClasses>;
  firstUidNumber?: number;
  firstGidNumber?: number;
  /** Clock for "today" in the shadowExpire rule and for snapshot times. */
  now?: () => Date;
  /** Receives entries a snapshot leaves out; the default writes one JSON line to stderr. */
  onSkippedEntry?: (dn: string, reason: string) => void;
}

/** The store's parts, configured from one set of options with the defaults filled in. */
export interface StoreSettings {
  connector: LdapConnector;
  names: LdapAttributeNames;
  classes: LdapObjectClasses;
  memberMode: MemberMode;
  now: () => Date;
  lookup: LookupSettings;
  counter: CounterSettings;
  privateGroups: PrivateGroupSettings;
  snapshot: SnapshotSettings;
}

export function resolveStoreSettings(options: LdapStoreOptions): StoreSettings {
  const timeoutMs = options.timeoutMs ?? LDAP_TIMEOUT_MS;
  const connectTimeoutMs = options.connectTimeoutMs ?? LDAP_CONNECT_TIMEOUT_MS;
  const connector = new LdapConnector({ ...options, timeoutMs, connectTimeoutMs });
  const names = { ...DEFAULT_ATTRIBUTES, ...options.attributes };
  const classes = { ...DEFAULT_OBJECT_CLASSES, ...options.objectClasses };
  const server = connector.server;
  const pageSize = options.pageSize ?? LDAP_PAGE_SIZE;
  const bases = { peopleBase: options.bases.people, groupsBase: options.bases.groups };

  const lookup: LookupSettings = {
    server,
    ...bases,
    usernameAttribute: names.username,
    groupNameAttribute: names.groupName,
  };
  const counter: CounterSettings = {
    server,
    ...bases,
    counterDn: options.counterDn,
    objectClasses: classes.counter,
    first: {
      uidNumber: options.firstUidNumber ?? FIRST_UID_NUMBER,
      gidNumber: options.firstGidNumber ?? FIRST_GID_NUMBER,
    },
    pageSize,
  };
  const groupAttributes = [names.groupName, 'gidNumber', 'objectClass', 'description', ...MEMBER_ATTRIBUTES];
  return {
    connector,
    names,
    classes,
    memberMode: options.memberMode ?? 'auto',
    now: options.now ?? (() => new Date()),
    lookup,
    counter,
    privateGroups: { lookup, counter, groupClasses: classes.group, groupAttributes },
    snapshot: {
      server,
      ...bases,
      pageSize,
      attributes: names,
      timeLimitSeconds: Math.ceil(timeoutMs / 1000),
      onSkippedEntry: options.onSkippedEntry ?? logSkippedEntry,
    },
  };
}

function logSkippedEntry(dn: string, reason: string): void {
  console.warn(JSON.stringify({ level: 'WARN', message: 'skipped a directory entry', dn, reason }));
}
