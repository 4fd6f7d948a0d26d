import { describe, expect, it } from 'vitest';
import {
  FIRST_GID_NUMBER,
  FIRST_UID_NUMBER,
  LDAP_PAGE_SIZE,
  ldapStoreOptions,
  loadLdapSettings,
} from '../../shared/directory/ldap-config.ts';
import { ConfigError } from '../../shared/errors.ts';

const REQUIRED: NodeJS.ProcessEnv = {
  LDAP_URL: 'ldaps://ldap.example.test:636',
  LDAP_BIND_DN: 'cn=fleet-login,ou=services,dc=example,dc=test',
  LDAP_BIND_PASSWORD_PARAMETER: '/fleet-login/ldap/bind-password',
  LDAP_PEOPLE_BASE: 'ou=people,dc=example,dc=test',
  LDAP_GROUPS_BASE: 'ou=groups,dc=example,dc=test',
  LDAP_COUNTER_DN: 'cn=fleet-login-counters,dc=example,dc=test',
};

describe('loadLdapSettings', () => {
  it('applies the defaults', () => {
    const settings = loadLdapSettings(REQUIRED);
    expect(settings).toMatchObject({
      url: 'ldaps://ldap.example.test:636',
      startTls: false,
      pageSize: LDAP_PAGE_SIZE,
      memberMode: 'auto',
      firstUidNumber: FIRST_UID_NUMBER,
      firstGidNumber: FIRST_GID_NUMBER,
    });
  });

  it('reads every optional variable', () => {
    const settings = loadLdapSettings({
      ...REQUIRED,
      LDAP_URL: 'ldap://ldap.example.test',
      LDAP_STARTTLS: 'true',
      LDAP_TIMEOUT_MS: '2500',
      LDAP_CONNECT_TIMEOUT_MS: '1500',
      LDAP_PAGE_SIZE: '0',
      LDAP_MEMBER_MODE: 'uniqueMember',
      FIRST_UID_NUMBER: '70000',
      FIRST_GID_NUMBER: '80000',
    });
    expect(settings).toMatchObject({
      startTls: true,
      timeoutMs: 2500,
      connectTimeoutMs: 1500,
      pageSize: 0,
      memberMode: 'uniqueMember',
      firstUidNumber: 70000,
      firstGidNumber: 80000,
    });
  });

  it.each(Object.keys(REQUIRED))('names %s when it is missing', (name) => {
    const env = { ...REQUIRED, [name]: '' };
    expect(() => loadLdapSettings(env)).toThrow(ConfigError);
    expect(() => loadLdapSettings(env)).toThrow(name);
  });

  it.each([
    ['LDAP_URL', 'http://ldap.example.test'],
    ['LDAP_URL', 'ldap://ldap.example.test'],
    ['LDAP_STARTTLS', 'yes'],
    ['LDAP_TIMEOUT_MS', '0'],
    ['LDAP_CONNECT_TIMEOUT_MS', '1.5'],
    ['LDAP_PAGE_SIZE', '-1'],
    ['LDAP_MEMBER_MODE', 'members'],
    ['FIRST_UID_NUMBER', 'abc'],
  ])('rejects %s=%s', (name, value) => {
    expect(() => loadLdapSettings({ ...REQUIRED, [name]: value })).toThrow(name);
  });

  it('rejects StartTLS on an ldaps URL', () => {
    expect(() => loadLdapSettings({ ...REQUIRED, LDAP_STARTTLS: 'true' })).toThrow(/LDAP_STARTTLS/);
  });
});

describe('ldapStoreOptions', () => {
  it('reads the password once and the TLS material on every call', async () => {
    const values: Record<string, string> = {
      '/fleet-login/ldap/bind-password': 'bind-secret',
    };
    const reads: string[] = [];
    const parameters = {
      get: async (name: string) => {
        reads.push(name);
        return values[name] ?? '';
      },
    };

    const options = await ldapStoreOptions(
      loadLdapSettings({ ...REQUIRED, PKI_PARAMETER_PREFIX: '/custom/pki' }),
      parameters,
    );
    expect(options.bindPassword).toBe('bind-secret');
    expect(options.bases).toEqual({ people: REQUIRED.LDAP_PEOPLE_BASE, groups: REQUIRED.LDAP_GROUPS_BASE });
    expect(typeof options.tls).toBe('function');
    const tls = options.tls as () => Promise<unknown>;
    // Each connection reads the PKI's active pointer first; here it is missing, so the read fails.
    await expect(tls()).rejects.toThrow();
    expect(reads).toContain('/custom/pki/active');
    expect(reads.filter((name) => name.endsWith('bind-password'))).toHaveLength(1);
  });
});
