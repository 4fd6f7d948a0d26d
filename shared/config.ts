// The one configuration module: every setting, its environment variable and its default.

import { PUBLISH_SHRINK_LIMIT_PERCENT } from './bundle/publish.ts';
import { readIdNumberRange } from './directory/id-numbers.ts';
import { LDAP_CONFIG_VARIABLES, type LdapSettings, loadLdapSettings } from './directory/ldap-config.ts';
import { ConfigError } from './errors.ts';

/** Okta groups named `Everyone` are in every org and never a POSIX group; all others are. */
const DEFAULT_OKTA_GROUP_PATTERN = '^(?!Everyone$)';

export interface Config {
  directory: { kind: 'embedded'; file: string } | { kind: 'ldap'; settings: LdapSettings };
  objectStore: { kind: 'local'; root: string } | { kind: 's3'; region?: string; endpoint?: string };
  buckets: { bundles: string; inbox: string; audit: string; emergency: string };
  parameters: { kind: 'file'; path: string } | { kind: 'ssm' };
  okta: {
    /** Unset in tools that never call Okta (the publish CLI); the sync fails at once without it. */
    orgUrl?: string;
    apiTokenParameter: string;
    hookSecretParameter: string;
    /** Header name, lower case, as API Gateway HTTP API delivers it. */
    authHeader: string;
    keysAttribute: string;
    groupPattern: RegExp;
    /** Okta groups that put a person in scope; empty admits every user Okta reports. */
    scopeGroups: string[];
  };
  hr: {
    hookSecretParameter: string;
    /** Unset when no HR system is connected; HR entries then fail and wait in the inbox. */
    apiUrl?: string;
    apiKeyParameter: string;
    matchKey: 'workEmail' | 'employeeNumber';
    groupField: string;
    groupPrefix: string;
  };
  /** On-call SNS topic; unset only in local runs, where alerts go to the console. */
  alertTopicArn?: string;
  publish: { shrinkLimitPercent: number };
  policyFile: string;
  signingKeyParameter: string;
  firstUidNumber: number;
  firstGidNumber: number;
}

/**
 * Every variable loadConfig reads, the LDAP ones included; the deployment check compares it with
 * serverless.yml. rotate-certs reads the PKI_* variables of shared/pki/config.ts as well.
 */
export const CONFIG_VARIABLES = [
  'DIRECTORY_STORE',
  'EMBEDDED_DIRECTORY_FILE',
  'OBJECT_STORE',
  'LOCAL_STORE_DIR',
  'S3_ENDPOINT',
  'AWS_REGION',
  'BUNDLE_BUCKET',
  'INBOX_BUCKET',
  'AUDIT_BUCKET',
  'EMERGENCY_BUCKET',
  'PARAMETER_STORE',
  'LOCAL_PARAMETER_FILE',
  'OKTA_ORG_URL',
  'OKTA_API_TOKEN_PARAMETER',
  'OKTA_HOOK_SECRET_PARAMETER',
  'OKTA_HOOK_AUTH_HEADER',
  'OKTA_SSH_KEYS_ATTRIBUTE',
  'OKTA_GROUP_PATTERN',
  'OKTA_SCOPE_GROUPS',
  'HR_HOOK_SECRET_PARAMETER',
  'HR_API_URL',
  'HR_API_KEY_PARAMETER',
  'HR_MATCH_KEY',
  'HR_GROUP_FIELD',
  'HR_GROUP_PREFIX',
  'ALERT_TOPIC_ARN',
  'PUBLISH_SHRINK_LIMIT_PERCENT',
  'POLICY_FILE',
  'SIGNING_KEY_PARAMETER',
  'FIRST_UID_NUMBER',
  'FIRST_GID_NUMBER',
  ...LDAP_CONFIG_VARIABLES,
] as const;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads the configuration once per cold start; throws ConfigError naming the variable at fault. */
export function loadConfig(env: Env = process.env): Config {
  const value = (name: (typeof CONFIG_VARIABLES)[number], fallback: string) => env[name]?.trim() || fallback;

  return {
    directory:
      oneOf(env, 'DIRECTORY_STORE', ['embedded', 'ldap'], 'embedded') === 'ldap'
        ? { kind: 'ldap', settings: loadLdapSettings(env) }
        : { kind: 'embedded', file: value('EMBEDDED_DIRECTORY_FILE', '.local/directory.json') },
    objectStore:
      oneOf(env, 'OBJECT_STORE', ['local', 's3'], 'local') === 's3'
        ? { kind: 's3', ...optional('region', env.AWS_REGION), ...optional('endpoint', env.S3_ENDPOINT) }
        : { kind: 'local', root: value('LOCAL_STORE_DIR', '.local/buckets') },
    buckets: {
      bundles: value('BUNDLE_BUCKET', 'fleet-login-bundles'),
      inbox: value('INBOX_BUCKET', 'fleet-login-inbox'),
      audit: value('AUDIT_BUCKET', 'fleet-login-audit'),
      emergency: value('EMERGENCY_BUCKET', 'fleet-login-emergency-keys'),
    },
    parameters:
      oneOf(env, 'PARAMETER_STORE', ['file', 'ssm'], 'file') === 'ssm'
        ? { kind: 'ssm' }
        : { kind: 'file', path: value('LOCAL_PARAMETER_FILE', '.local/parameters.json') },
    okta: {
      ...(env.OKTA_ORG_URL?.trim() ? { orgUrl: url(env, 'OKTA_ORG_URL') } : {}),
      apiTokenParameter: value('OKTA_API_TOKEN_PARAMETER', '/fleet-login/okta/api-token'),
      hookSecretParameter: value('OKTA_HOOK_SECRET_PARAMETER', '/fleet-login/okta/hook-secret'),
      authHeader: value('OKTA_HOOK_AUTH_HEADER', 'authorization').toLowerCase(),
      keysAttribute: value('OKTA_SSH_KEYS_ATTRIBUTE', 'sshPublicKeys'),
      groupPattern: regex(env, 'OKTA_GROUP_PATTERN', DEFAULT_OKTA_GROUP_PATTERN),
      scopeGroups: (env.OKTA_SCOPE_GROUPS ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    },
    hr: {
      hookSecretParameter: value('HR_HOOK_SECRET_PARAMETER', '/fleet-login/hr/hook-secret'),
      ...(env.HR_API_URL?.trim() ? { apiUrl: url(env, 'HR_API_URL') } : {}),
      apiKeyParameter: value('HR_API_KEY_PARAMETER', '/fleet-login/hr/api-key'),
      matchKey: oneOf(env, 'HR_MATCH_KEY', ['workEmail', 'employeeNumber'], 'workEmail'),
      groupField: value('HR_GROUP_FIELD', 'department'),
      groupPrefix: groupPrefix(env),
    },
    ...(env.ALERT_TOPIC_ARN?.trim() ? { alertTopicArn: env.ALERT_TOPIC_ARN.trim() } : {}),
    publish: {
      shrinkLimitPercent: percent(env, 'PUBLISH_SHRINK_LIMIT_PERCENT', PUBLISH_SHRINK_LIMIT_PERCENT),
    },
    policyFile: value('POLICY_FILE', 'config/host-classes.yaml'),
    signingKeyParameter: value('SIGNING_KEY_PARAMETER', '/fleet-login/bundle/signing-key'),
    ...readIdNumberRange(env),
  };
}

function oneOf<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = env[name]?.trim() || fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

function url(env: Env, name: string): string {
  const raw = env[name]?.trim();
  if (!raw) throw new ConfigError(`${name} is required (for example https://example.okta.com)`);
  try {
    return new URL(raw).toString();
  } catch (error) {
    throw new ConfigError(`${name} is not a URL: ${JSON.stringify(raw)}`, { cause: error });
  }
}

function percent(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > 100) {
    throw new ConfigError(`${name} must be a number from 0 to 100; got ${JSON.stringify(raw)}`);
  }
  return value;
}

function groupPrefix(env: Env): string {
  const raw = env.HR_GROUP_PREFIX?.trim() || 'dept-';
  if (!/^[a-z_][a-z0-9_.-]{0,15}$/.test(raw)) {
    throw new ConfigError(
      `HR_GROUP_PREFIX must start a POSIX group name (at most 16 characters); got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function regex(env: Env, name: string, fallback: string): RegExp {
  const raw = env[name] ?? fallback;
  try {
    return new RegExp(raw);
  } catch (error) {
    throw new ConfigError(`${name} is not a valid regular expression: ${JSON.stringify(raw)}`, {
      cause: error,
    });
  }
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value ? ({ [key]: value } as Record<K, string>) : {};
}
