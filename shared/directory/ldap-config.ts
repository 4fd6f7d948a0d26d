// Reads the LDAP directory settings from the environment, failing with the name of the bad variable.

import { ConfigError } from '../errors.ts';
import type { ParameterReader } from '../parameters.ts';
import { DEFAULT_PKI_PREFIX } from '../pki/config.ts';
import { loadLdapTlsMaterial } from '../pki/tls-material.ts';
import { readIdNumberRange } from './id-numbers.ts';
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
export { FIRST_GID_NUMBER, FIRST_UID_NUMBER } from './id-numbers.ts';

/** Every variable loadLdapSettings reads. */
export const LDAP_CONFIG_VARIABLES = [
  'LDAP_URL',
  'LDAP_STARTTLS',
  'LDAP_BIND_DN',
  'LDAP_BIND_PASSWORD_PARAMETER',
  'LDAP_PEOPLE_BASE',
  'LDAP_GROUPS_BASE',
  'LDAP_COUNTER_DN',
  'LDAP_TIMEOUT_MS',
  'LDAP_CONNECT_TIMEOUT_MS',
  'LDAP_PAGE_SIZE',
  'LDAP_MEMBER_MODE',
  'PKI_PARAMETER_PREFIX',
] as const;

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
  /** SSM prefix of the PKI that issues the LDAP link's certificates (its `active` pointer names the client pair). */
  pkiPrefix: string;
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
 * - PKI_PARAMETER_PREFIX: SSM prefix whose active pointer names the trust bundle, client certificate
 *   and key for mutual TLS, as rotate-certs maintains them [/fleet-login/pki]
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
    pkiPrefix: env.PKI_PARAMETER_PREFIX?.trim() || DEFAULT_PKI_PREFIX,
    memberMode: memberMode(env),
    ...readIdNumberRange(env),
  };
}

/**
 * Turns settings into store options. The bind password is read once. The trust bundle, certificate
 * and key are read for every new connection, so a rotated certificate is used once the reader's
 * cache expires.
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
    // Read through the active pointer, so the certificate and its key always come from one rotation step.
    tls: () => loadLdapTlsMaterial(parameters, settings.pkiPrefix),
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
