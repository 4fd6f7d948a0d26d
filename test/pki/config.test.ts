import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/errors.ts';
import { DEFAULT_PKI_PREFIX, loadPkiConfig } from '../../shared/pki/config.ts';

const SERVER = {
  PKI_SERVER_DNS_NAMES: 'ldap.example.test, ldap2.example.test',
  PKI_SERVER_IP_ADDRESSES: '10.0.0.5',
};

describe('loadPkiConfig', () => {
  it('applies the defaults and splits the name lists', () => {
    const config = loadPkiConfig(SERVER);

    expect(config.prefix).toBe(DEFAULT_PKI_PREFIX);
    expect(config.serverDnsNames).toEqual(['ldap.example.test', 'ldap2.example.test']);
    expect(config.serverIpAddresses).toEqual(['10.0.0.5']);
    expect(config.serverCommonName).toBe('ldap.example.test');
    expect(config.renewFraction).toBeCloseTo(2 / 3);
    expect(config.leafLifetimeMs).toBe(90 * 24 * 60 * 60 * 1000);
    expect(config.useIntermediate).toBe(false);
    expect(config.kmsKeyId).toBeUndefined();
  });

  it('reads a renew fraction written as a ratio or a decimal', () => {
    expect(
      loadPkiConfig({ ...SERVER, PKI_RENEW_FRACTION: '3/4', PKI_EXPIRY_ALERT_DAYS: '7' }).renewFraction,
    ).toBe(0.75);
    expect(loadPkiConfig({ ...SERVER, PKI_CA_RENEW_FRACTION: '0.5' }).caRenewFraction).toBe(0.5);
  });

  it.each([
    [{}, 'PKI_SERVER_DNS_NAMES or PKI_SERVER_IP_ADDRESSES'],
    [{ ...SERVER, PKI_PARAMETER_PREFIX: 'fleet/pki' }, 'PKI_PARAMETER_PREFIX'],
    [{ ...SERVER, PKI_PARAMETER_PREFIX: '/fleet/pki/' }, 'PKI_PARAMETER_PREFIX'],
    [{ ...SERVER, PKI_LEAF_LIFETIME_DAYS: '0' }, 'PKI_LEAF_LIFETIME_DAYS must be a number above 0'],
    [{ ...SERVER, PKI_LEAF_LIFETIME_DAYS: 'ninety' }, 'PKI_LEAF_LIFETIME_DAYS'],
    [{ ...SERVER, PKI_TRUST_OVERLAP_HOURS: '-1' }, 'PKI_TRUST_OVERLAP_HOURS must be a number of 0 or more'],
    [{ ...SERVER, PKI_RENEW_FRACTION: '1' }, 'PKI_RENEW_FRACTION must be between 0 and 1'],
    [{ ...SERVER, PKI_USE_INTERMEDIATE: 'yes' }, 'PKI_USE_INTERMEDIATE must be true or false'],
    [{ ...SERVER, PKI_EXPIRY_ALERT_DAYS: '31' }, 'PKI_EXPIRY_ALERT_DAYS must be shorter'],
    [
      { ...SERVER, PKI_LEAF_LIFETIME_DAYS: '700' },
      'PKI_LEAF_LIFETIME_DAYS must be shorter than the CA lifetime',
    ],
    [
      { ...SERVER, PKI_USE_INTERMEDIATE: 'true', PKI_INTERMEDIATE_LIFETIME_DAYS: '30' },
      'PKI_INTERMEDIATE_LIFETIME_DAYS',
    ],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadPkiConfig(env)).toThrow(ConfigError);
    expect(() => loadPkiConfig(env)).toThrow(message);
  });
});
