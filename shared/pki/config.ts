// Settings of certificate issuance and rotation, read once per cold start from the environment.

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
  const serverDnsNames = readList(env, 'PKI_SERVER_DNS_NAMES');
  const serverIpAddresses = readList(env, 'PKI_SERVER_IP_ADDRESSES');
  if (serverDnsNames.length + serverIpAddresses.length === 0) {
    throw new ConfigError('PKI_SERVER_DNS_NAMES or PKI_SERVER_IP_ADDRESSES must name the LDAP server');
  }

  const config: PkiConfig = {
    prefix: readPrefix(env),
    caCommonName: env.PKI_CA_NAME || 'fleet-login LDAP CA',
    useIntermediate: readBoolean(env, 'PKI_USE_INTERMEDIATE'),
    caLifetimeMs: readNumber(env, 'PKI_CA_LIFETIME_DAYS', DEFAULT_CA_LIFETIME_DAYS) * DAY_MS,
    intermediateLifetimeMs:
      readNumber(env, 'PKI_INTERMEDIATE_LIFETIME_DAYS', DEFAULT_INTERMEDIATE_LIFETIME_DAYS) * DAY_MS,
    leafLifetimeMs: readNumber(env, 'PKI_LEAF_LIFETIME_DAYS', DEFAULT_LEAF_LIFETIME_DAYS) * DAY_MS,
    renewFraction: readFraction(env, 'PKI_RENEW_FRACTION'),
    caRenewFraction: readFraction(env, 'PKI_CA_RENEW_FRACTION'),
    trustOverlapMs: readNumber(env, 'PKI_TRUST_OVERLAP_HOURS', DEFAULT_TRUST_OVERLAP_HOURS, true) * HOUR_MS,
    expiryAlertMs: readNumber(env, 'PKI_EXPIRY_ALERT_DAYS', DEFAULT_EXPIRY_ALERT_DAYS, true) * DAY_MS,
    clientCommonName: env.PKI_CLIENT_NAME || 'fleet-login-lambda',
    serverCommonName: env.PKI_SERVER_NAME || serverDnsNames[0] || 'fleet-login-ldap',
    serverDnsNames,
    serverIpAddresses,
    kmsKeyId: env.PKI_KMS_KEY_ID || undefined,
  };
  checkConsistency(config);
  return config;
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

function readNumber(env: NodeJS.ProcessEnv, name: string, fallback: number, allowZero = false): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  const valid = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!valid) throw new ConfigError(`${name} must be a number ${allowZero ? 'of 0 or more' : 'above 0'}`);
  return value;
}

/** Reads a share of a lifetime written as a decimal (0.66) or a ratio (2/3). */
function readFraction(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name];
  if (text === undefined || text === '') return DEFAULT_RENEW_FRACTION;
  const [numerator, denominator = '1'] = text.split('/');
  const value = Number(numerator) / Number(denominator);
  if (!(value > 0 && value < 1))
    throw new ConfigError(`${name} must be between 0 and 1, such as 2/3 or 0.66`);
  return value;
}

function readBoolean(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name];
  if (text === undefined || text === '' || text === 'false') return false;
  if (text === 'true') return true;
  throw new ConfigError(`${name} must be true or false`);
}

function readList(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
