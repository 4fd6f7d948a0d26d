// Settings of certificate issuance and rotation, read once per cold start from the environment.

import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;

/** Parameter Store prefix under which every certificate, key and the active pointer is stored. */
export const DEFAULT_PKI_PREFIX = '/fleet-login/pki';
/** Root CA lifetime of five years. Rotation starts at 2/3 of it, with about 20 months left. */
export const DEFAULT_CA_LIFETIME_DAYS = 1826;
export const DEFAULT_INTERMEDIATE_LIFETIME_DAYS = 365;
/** Leaf lifetime, the 90 days Let's Encrypt issues. Renewed at 2/3, a leaf whose renewal fails has 30 days left. */
export const DEFAULT_LEAF_LIFETIME_DAYS = 90;
/** Renew at 2/3 of the lifetime, the point cert-manager and smallstep's `step ca renew` use. */
export const DEFAULT_RENEW_FRACTION = 2 / 3;
/**
 * Time between publishing a trust change and acting on it. It must exceed the 5-minute parameter cache of
 * the Lambdas and the interval of the LDAP hosts' install timer. One day is also one schedule period.
 */
export const DEFAULT_TRUST_OVERLAP_HOURS = 24;
/** Alert when an active certificate has fewer days left than this. */
export const DEFAULT_EXPIRY_ALERT_DAYS = 14;

/**
 * Accepted ranges of the whole-number settings. The ceilings catch typos such as 1e7 days: 20 years
 * for a root CA, 10 for an intermediate, and 825 days for a leaf (the CA/Browser Forum's maximum for public
 * TLS server certificates from 2018 to 2020). A trust change needs at least one hour to reach every cache
 * and host timer, because with no overlap a client meets a certificate from a CA it does not trust yet.
 */
export const PKI_RANGES = {
  PKI_CA_LIFETIME_DAYS: [30, 7305],
  PKI_INTERMEDIATE_LIFETIME_DAYS: [2, 3653],
  PKI_LEAF_LIFETIME_DAYS: [1, 825],
  PKI_TRUST_OVERLAP_HOURS: [1, 720],
  PKI_EXPIRY_ALERT_DAYS: [0, 365],
} as const;

type RangedVariable = keyof typeof PKI_RANGES;

/** Every variable loadPkiConfig reads; the deployment check compares it with serverless.yml. */
export const PKI_CONFIG_VARIABLES = [
  'PKI_PARAMETER_PREFIX',
  'PKI_CA_NAME',
  'PKI_USE_INTERMEDIATE',
  'PKI_CA_LIFETIME_DAYS',
  'PKI_INTERMEDIATE_LIFETIME_DAYS',
  'PKI_LEAF_LIFETIME_DAYS',
  'PKI_RENEW_FRACTION',
  'PKI_CA_RENEW_FRACTION',
  'PKI_TRUST_OVERLAP_HOURS',
  'PKI_EXPIRY_ALERT_DAYS',
  'PKI_CLIENT_NAME',
  'PKI_SERVER_NAME',
  'PKI_SERVER_DNS_NAMES',
  'PKI_SERVER_IP_ADDRESSES',
  'PKI_KMS_KEY_ID',
] as const;

export interface PkiConfig {
  prefix: string;
  caCommonName: string;
  useIntermediate: boolean;
  caLifetimeMs: number;
  intermediateLifetimeMs: number;
  leafLifetimeMs: number;
  /** Share of a leaf's or intermediate's lifetime after which it is renewed. */
  renewFraction: number;
  /** Share of the root CA's lifetime after which a CA rotation starts. */
  caRenewFraction: number;
  trustOverlapMs: number;
  expiryAlertMs: number;
  clientCommonName: string;
  serverCommonName: string;
  serverDnsNames: string[];
  serverIpAddresses: string[];
  /** KMS key for SecureString keys, or undefined for the account's aws/ssm key. */
  kmsKeyId: string | undefined;
}

/** Reads and checks the PKI settings. Throws ConfigError naming the variable. */
export function loadPkiConfig(env: NodeJS.ProcessEnv = process.env): PkiConfig {
  const { serverDnsNames, serverIpAddresses } = readServerNames(env);

  const config: PkiConfig = {
    prefix: readPrefix(env),
    caCommonName: env.PKI_CA_NAME || 'fleet-login LDAP CA',
    useIntermediate: readBoolean(env, 'PKI_USE_INTERMEDIATE'),
    caLifetimeMs: readWholeNumber(env, 'PKI_CA_LIFETIME_DAYS', DEFAULT_CA_LIFETIME_DAYS) * DAY_MS,
    intermediateLifetimeMs:
      readWholeNumber(env, 'PKI_INTERMEDIATE_LIFETIME_DAYS', DEFAULT_INTERMEDIATE_LIFETIME_DAYS) * DAY_MS,
    leafLifetimeMs: readWholeNumber(env, 'PKI_LEAF_LIFETIME_DAYS', DEFAULT_LEAF_LIFETIME_DAYS) * DAY_MS,
    renewFraction: readFraction(env, 'PKI_RENEW_FRACTION'),
    caRenewFraction: readFraction(env, 'PKI_CA_RENEW_FRACTION'),
    trustOverlapMs: readWholeNumber(env, 'PKI_TRUST_OVERLAP_HOURS', DEFAULT_TRUST_OVERLAP_HOURS) * HOUR_MS,
    expiryAlertMs: readWholeNumber(env, 'PKI_EXPIRY_ALERT_DAYS', DEFAULT_EXPIRY_ALERT_DAYS) * DAY_MS,
    clientCommonName: env.PKI_CLIENT_NAME || 'fleet-login-lambda',
    serverCommonName: env.PKI_SERVER_NAME || serverDnsNames[0] || 'fleet-login-ldap',
    serverDnsNames,
    serverIpAddresses,
    kmsKeyId: env.PKI_KMS_KEY_ID || undefined,
  };
  checkConsistency(config);
  return config;
}

function readServerNames(env: NodeJS.ProcessEnv): { serverDnsNames: string[]; serverIpAddresses: string[] } {
  const serverDnsNames = readList(
    env,
    'PKI_SERVER_DNS_NAMES',
    isDnsName,
    'a DNS name such as ldap.example.com',
  );
  const serverIpAddresses = readList(
    env,
    'PKI_SERVER_IP_ADDRESSES',
    (item) => isIP(item) !== 0,
    'an IPv4 or IPv6 address',
  );
  if (serverDnsNames.length + serverIpAddresses.length === 0) {
    throw new ConfigError('PKI_SERVER_DNS_NAMES or PKI_SERVER_IP_ADDRESSES must name the LDAP server');
  }
  return { serverDnsNames, serverIpAddresses };
}

function checkConsistency(config: PkiConfig): void {
  // Otherwise every healthy leaf would raise an expiry alert before it is due for renewal.
  const leftAtRenewalMs = config.leafLifetimeMs * (1 - config.renewFraction);
  if (config.expiryAlertMs >= leftAtRenewalMs) {
    throw new ConfigError('PKI_EXPIRY_ALERT_DAYS must be shorter than the leaf lifetime left at renewal');
  }
  if (config.leafLifetimeMs >= config.caLifetimeMs * (1 - config.caRenewFraction)) {
    throw new ConfigError('PKI_LEAF_LIFETIME_DAYS must be shorter than the CA lifetime left at CA rotation');
  }
  if (config.useIntermediate && config.intermediateLifetimeMs <= config.leafLifetimeMs) {
    throw new ConfigError('PKI_INTERMEDIATE_LIFETIME_DAYS must be longer than PKI_LEAF_LIFETIME_DAYS');
  }
}

function readPrefix(env: NodeJS.ProcessEnv): string {
  const prefix = env.PKI_PARAMETER_PREFIX || DEFAULT_PKI_PREFIX;
  if (!/^(\/[A-Za-z0-9_.-]+)+$/.test(prefix)) {
    throw new ConfigError(`PKI_PARAMETER_PREFIX ${prefix} must be a path such as /fleet-login/pki`);
  }
  return prefix;
}

/** Reads a whole number within PKI_RANGES, so typos such as 1e7, 90.5 or 0 fail with the accepted range. */
function readWholeNumber(env: NodeJS.ProcessEnv, name: RangedVariable, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const [minimum, maximum] = PKI_RANGES[name];
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < minimum || value > maximum) {
    throw new ConfigError(
      `${name} must be a whole number from ${minimum} to ${maximum}; got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

/** Reads a share of a lifetime written as a decimal (0.66) or one ratio of whole numbers (2/3). */
function readFraction(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name]?.trim();
  if (!text) return DEFAULT_RENEW_FRACTION;
  let value = Number.NaN;
  const ratio = /^([0-9]+)\/([0-9]+)$/.exec(text);
  if (ratio) value = Number(ratio[1]) / Number(ratio[2]);
  if (/^[0-9]*\.?[0-9]+$/.test(text)) value = Number(text);
  if (!(value > 0 && value < 1)) {
    throw new ConfigError(
      `${name} must be a decimal or a ratio a/b between 0 and 1, such as 0.66 or 2/3; got ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name];
  if (text === undefined || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  throw new ConfigError(`${name} must be true or false`);
}

/** Splits a comma-separated list and rejects the first item that fails `valid`. */
function readList(
  env: NodeJS.ProcessEnv,
  name: string,
  valid: (item: string) => boolean,
  expected: string,
): string[] {
  const items = (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  const invalid = items.find((item) => !valid(item));
  if (invalid !== undefined) {
    throw new ConfigError(`${name} contains ${JSON.stringify(invalid)}, which is not ${expected}`);
  }
  return items;
}

/**
 * Checks a host name as a certificate's subjectAltName holds it: labels of letters, digits and inner
 * hyphens, at most 63 characters each and 253 in all. A leading `*.` label (a wildcard) is accepted.
 */
function isDnsName(name: string): boolean {
  const label = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const labels = name.replace(/^\*\./, '').split('.');
  return name.length <= 253 && labels.every((each) => label.test(each)) && isIP(name) === 0;
}
