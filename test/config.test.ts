import { describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { ConfigError } from '../shared/errors.ts';

describe('loadConfig', () => {
  it('runs on embedded defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      directory: { kind: 'embedded', file: '.local/directory.json' },
      objectStore: { kind: 'local', root: '.local/buckets' },
      parameters: { kind: 'file' },
      firstUidNumber: 100000,
      firstGidNumber: 500000,
      publish: { shrinkLimitPercent: 10 },
    });
    expect(config.okta.orgUrl).toBeUndefined();
    expect(config.okta.groupPattern.test('Everyone')).toBe(false);
    expect(config.okta.groupPattern.test('SSH Ops')).toBe(true);
  });

  it('reads the scope groups as a comma-separated list', () => {
    expect(loadConfig({ OKTA_SCOPE_GROUPS: ' Engineering, SRE ,,' }).okta.scopeGroups).toEqual([
      'Engineering',
      'SRE',
    ]);
  });

  it('needs the LDAP variables when the LDAP store is chosen', () => {
    expect(() => loadConfig({ DIRECTORY_STORE: 'ldap' })).toThrow(/LDAP_URL/);
  });

  it.each([
    [{ DIRECTORY_STORE: 'postgres' }, /DIRECTORY_STORE must be one of embedded, ldap/],
    [{ OBJECT_STORE: 'gcs' }, /OBJECT_STORE must be one of local, s3/],
    [{ OKTA_ORG_URL: 'not a url' }, /OKTA_ORG_URL is not a URL/],
    [{ OKTA_GROUP_PATTERN: '(' }, /OKTA_GROUP_PATTERN is not a valid regular expression/],
    [{ FIRST_UID_NUMBER: '1000' }, /FIRST_UID_NUMBER must be a whole number from 10000/],
    [{ FIRST_UID_NUMBER: '600000' }, /FIRST_GID_NUMBER \(500000\) must be above FIRST_UID_NUMBER \(600000\)/],
    [{ HR_GROUP_PREFIX: 'Dept ' }, /HR_GROUP_PREFIX must start a POSIX group name/],
    [{ HR_MATCH_KEY: 'name' }, /HR_MATCH_KEY must be one of workEmail, employeeNumber/],
    [{ PUBLISH_SHRINK_LIMIT_PERCENT: '150' }, /PUBLISH_SHRINK_LIMIT_PERCENT must be a number from 0 to 100/],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});
