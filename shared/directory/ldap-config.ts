// Reads the LDAP directory settings from the environment, failing with the name of the bad variable.

import { ConfigError } from '../errors.ts';
import type { ParameterReader } from '../parameters.ts';
import type { LdapStoreOptions } from './ldap-options.ts';

/** Attribute that membership changes write. Reads always accept memberUid, member and uniqueMember. */
export type MemberMode = 'memberUid' | 'member' | 'uniqueMember' | 'auto';

export const MEMBER_MODES: readonly MemberMode[] = ['memberUid', 'member', 'uniqueMember', 'auto'];

/** Per-operation timeout; a page of 1,000 entries from slapd takes well under a second on loopback. */
export const LDAP_TIMEOUT_MS = 10_000;
/** Limit for the TCP connect plus the TLS handshake, which take milliseconds to a healthy server nearby. */
export const LDAP_CONNECT_TIMEOUT_MS = 5_000;
/** Paged-results page size: nsscache uses 1,000, and so does Active Directory's default MaxPageSize. */
export const LDAP_PAGE_SIZE = 1_000;
/** First uidNumber handed out; high enough to stay clear of system accounts and most existing ranges. */
export const FIRST_UID_NUMBER = 100_000;
/** First gidNumber for shared groups; user-private groups take their person's uidNumber instead. */
export const FIRST_GID_NUMBER = 500_000;

/** The LDAP settings of a deployment. Secrets appear only as SSM parameter names. */
export interface LdapSettings {
  url: string;
  startTls: boolean;
  bindDn: string;
  bindPasswordParameter: string;
  peopleBase: string;
  groupsBase: string;
  counterDn: string;
  timeoutMs: number;
  connectTimeoutMs: number;
  pageSize: number;
  caParameter: string;
  clientCertParameter: string;
  clientKeyParameter: string;
  memberMode: MemberMode;
  firstUidNumber: number;
  firstGidNumber: number;
}

/**
 * Reads these variables (defaults in brackets):
 * - LDAP_URL: `ldaps://host[:port]`, or `ldap://host[:port]` together with LDAP_STARTTLS=true [required]
 * - LDAP_STARTTLS: `true` or `false` [false]
 * - LDAP_BIND_DN: DN the store binds as [required]
 * - LDAP_BIND_PASSWORD_PARAMETER: SSM parameter holding the bind password [required]
 * - LDAP_PEOPLE_BASE, LDAP_GROUPS_BASE: where people and groups live [required]
 * - LDAP_COUNTER_DN: entry holding the next free uidNumber and gidNumber [required]
 * - LDAP_TIMEOUT_MS [10000], LDAP_CONNECT_TIMEOUT_MS [5000]
 * - LDAP_PAGE_SIZE: entries per paged-results page; 0 turns paging off for servers without the control [1000]
 * - LDAP_CA_PARAMETER, LDAP_CLIENT_CERT_PARAMETER, LDAP_CLIENT_KEY_PARAMETER: SSM parameters with
 *   the PEM CA bundle, client certificate and client key for mutual TLS [required]
 * - LDAP_MEMBER_MODE: memberUid | member | uniqueMember | auto [auto]
 * - FIRST_UID_NUMBER [100000], FIRST_GID_NUMBER [500000]
 */
export function loadLdapSettings(env: NodeJS.ProcessEnv): LdapSettings {
  const url = required(env, 'LDAP_URL');
  const startTls = booleanVariable(env, 'LDAP_STARTTLS', false);
  checkUrl(url, startTls);

  return {
    url,
    startTls,
    bindDn: required(env, 'LDAP_BIND_DN'),
    bindPasswordParameter: required(env, 'LDAP_BIND_PASSWORD_PARAMETER'),
    peopleBase: required(env, 'LDAP_PEOPLE_BASE'),
    groupsBase: required(env, 'LDAP_GROUPS_BASE'),
    counterDn: required(env, 'LDAP_COUNTER_DN'),
    timeoutMs: integerVariable(env, 'LDAP_TIMEOUT_MS', LDAP_TIMEOUT_MS),
    connectTimeoutMs: integerVariable(env, 'LDAP_CONNECT_TIMEOUT_MS', LDAP_CONNECT_TIMEOUT_MS),
    pageSize: integerVariable(env, 'LDAP_PAGE_SIZE', LDAP_PAGE_SIZE, 0),
    caParameter: required(env, 'LDAP_CA_PARAMETER'),
    clientCertParameter: required(env, 'LDAP_CLIENT_CERT_PARAMETER'),
    clientKeyParameter: required(env, 'LDAP_CLIENT_KEY_PARAMETER'),
    memberMode: memberMode(env),
    firstUidNumber: integerVariable(env, 'FIRST_UID_NUMBER', FIRST_UID_NUMBER),
    firstGidNumber: integerVariable(env, 'FIRST_GID_NUMBER', FIRST_GID_NUMBER),
  };
}

/**
 * Turns settings into store options. The bind password is read once. The CA, certificate and key
 * are read for every new connection, so a rotated certificate is used once the reader's cache expires.
 */
export async function ldapStoreOptions(
  settings: LdapSettings,
  parameters: ParameterReader,
): Promise<LdapStoreOptions> {
  return {
    url: settings.url,
    startTls: settings.startTls,
    bindDn: settings.bindDn,
    bindPassword: await parameters.get(settings.bindPasswordParameter),
    tls: async () => {
      const [ca, cert, key] = await Promise.all([
        parameters.get(settings.caParameter),
        parameters.get(settings.clientCertParameter),
        parameters.get(settings.clientKeyParameter),
      ]);
      return { ca, cert, key };
    },
    bases: { people: settings.peopleBase, groups: settings.groupsBase },
    counterDn: settings.counterDn,
    timeoutMs: settings.timeoutMs,
    connectTimeoutMs: settings.connectTimeoutMs,
    pageSize: settings.pageSize,
    memberMode: settings.memberMode,
    firstUidNumber: settings.firstUidNumber,
    firstGidNumber: settings.firstGidNumber,
  };
}

function checkUrl(url: string, startTls: boolean): void {
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch (error) {
    throw new ConfigError(`LDAP_URL is not a valid URL: ${url}`, { cause: error });
  }
  if (protocol === 'ldaps:' && !startTls) return;
  if (protocol === 'ldap:' && startTls) return;
  if (protocol === 'ldaps:') {
    throw new ConfigError('LDAP_STARTTLS=true needs an ldap:// LDAP_URL, because ldaps:// is already TLS');
  }
  if (protocol === 'ldap:') {
    throw new ConfigError(
      'LDAP_URL is ldap:// without LDAP_STARTTLS=true; use ldaps:// or set LDAP_STARTTLS=true',
    );
  }
  throw new ConfigError(`LDAP_URL must start with ldaps:// or ldap://, got ${url}`);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is missing`);
  return value;
}

function integerVariable(env: NodeJS.ProcessEnv, name: string, fallback: number, minimum = 1): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < minimum) {
    throw new ConfigError(`${name} must be an integer of at least ${minimum}, got ${text}`);
  }
  return value;
}

function booleanVariable(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const text = env[name]?.trim().toLowerCase();
  if (!text) return fallback;
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new ConfigError(`${name} must be true or false, got ${text}`);
}

function memberMode(env: NodeJS.ProcessEnv): MemberMode {
  const text = env.LDAP_MEMBER_MODE?.trim();
  if (!text) return 'auto';
  const mode = MEMBER_MODES.find((candidate) => candidate === text);
  if (!mode) throw new ConfigError(`LDAP_MEMBER_MODE must be one of ${MEMBER_MODES.join(', ')}, got ${text}`);
  return mode;
}
