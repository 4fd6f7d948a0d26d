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
    expect(loadPkiConfig({ ...SERVER, PKI_CA_RENEW_FRACTION: ' .75 ' }).caRenewFraction).toBe(0.75);
  });

  it('reads whole numbers at the ends of their ranges', () => {
    const config = loadPkiConfig({ ...SERVER, PKI_TRUST_OVERLAP_HOURS: '1', PKI_EXPIRY_ALERT_DAYS: '0' });

    expect(config.trustOverlapMs).toBe(60 * 60 * 1000);
    expect(config.expiryAlertMs).toBe(0);
  });

  it('accepts wildcard, IPv6 and mixed-case server names', () => {
    const config = loadPkiConfig({
      PKI_SERVER_DNS_NAMES: '*.ldap.example.test, LDAP-1.Example.test',
      PKI_SERVER_IP_ADDRESSES: '::1, 192.0.2.10',
    });

    expect(config.serverDnsNames).toEqual(['*.ldap.example.test', 'LDAP-1.Example.test']);
    expect(config.serverIpAddresses).toEqual(['::1', '192.0.2.10']);
  });

  it.each([
    [{}, 'PKI_SERVER_DNS_NAMES or PKI_SERVER_IP_ADDRESSES'],
    [{ ...SERVER, PKI_PARAMETER_PREFIX: 'fleet/pki' }, 'PKI_PARAMETER_PREFIX'],
    [{ ...SERVER, PKI_PARAMETER_PREFIX: '/fleet/pki/' }, 'PKI_PARAMETER_PREFIX'],
    [
      { ...SERVER, PKI_LEAF_LIFETIME_DAYS: '0' },
      'PKI_LEAF_LIFETIME_DAYS must be a whole number from 1 to 825',
    ],
    [{ ...SERVER, PKI_LEAF_LIFETIME_DAYS: 'ninety' }, 'PKI_LEAF_LIFETIME_DAYS'],
    [{ ...SERVER, PKI_LEAF_LIFETIME_DAYS: '90.5' }, 'PKI_LEAF_LIFETIME_DAYS must be a whole number'],
    [
      { ...SERVER, PKI_CA_LIFETIME_DAYS: '1e7' },
      'PKI_CA_LIFETIME_DAYS must be a whole number from 30 to 7305',
    ],
    [{ ...SERVER, PKI_CA_LIFETIME_DAYS: '10000000' }, 'PKI_CA_LIFETIME_DAYS must be a whole number'],
    [{ ...SERVER, PKI_TRUST_OVERLAP_HOURS: '-1' }, 'PKI_TRUST_OVERLAP_HOURS must be a whole number from 1'],
    [{ ...SERVER, PKI_TRUST_OVERLAP_HOURS: '0' }, 'PKI_TRUST_OVERLAP_HOURS must be a whole number from 1'],
    [{ ...SERVER, PKI_TRUST_OVERLAP_HOURS: '0.5' }, 'PKI_TRUST_OVERLAP_HOURS must be a whole number from 1'],
    [
      { ...SERVER, PKI_RENEW_FRACTION: '1' },
      'PKI_RENEW_FRACTION must be a decimal or a ratio a/b between 0 and 1',
    ],
    [{ ...SERVER, PKI_RENEW_FRACTION: '1/3/9' }, 'PKI_RENEW_FRACTION must be a decimal or a ratio'],
    [{ ...SERVER, PKI_RENEW_FRACTION: '2/0' }, 'PKI_RENEW_FRACTION must be a decimal or a ratio'],
    [{ ...SERVER, PKI_RENEW_FRACTION: '0x0.8' }, 'PKI_RENEW_FRACTION must be a decimal or a ratio'],
    [{ ...SERVER, PKI_CA_RENEW_FRACTION: '1/2/3' }, 'PKI_CA_RENEW_FRACTION must be a decimal or a ratio'],
    [{ PKI_SERVER_DNS_NAMES: 'bad name' }, 'PKI_SERVER_DNS_NAMES contains "bad name"'],
    [{ PKI_SERVER_DNS_NAMES: 'ldap..example.test' }, 'PKI_SERVER_DNS_NAMES'],
    [{ PKI_SERVER_DNS_NAMES: '-ldap.example.test' }, 'PKI_SERVER_DNS_NAMES'],
    [{ PKI_SERVER_DNS_NAMES: `${'a'.repeat(64)}.example.test` }, 'PKI_SERVER_DNS_NAMES'],
    [{ PKI_SERVER_DNS_NAMES: '10.0.0.5' }, 'PKI_SERVER_DNS_NAMES contains "10.0.0.5"'],
    [{ PKI_SERVER_IP_ADDRESSES: '10.0.0.256' }, 'PKI_SERVER_IP_ADDRESSES contains "10.0.0.256"'],
    [{ PKI_SERVER_IP_ADDRESSES: 'ldap.example.test' }, 'PKI_SERVER_IP_ADDRESSES'],
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
