import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SsmParameterReader } from '../../shared/parameters.ts';
import { x509 } from '../../shared/pki/crypto.ts';
import { rotateCertificates } from '../../shared/pki/rotate.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { loadLdapTlsMaterial, loadTlsMaterial } from '../../shared/pki/tls-material.ts';
import { collectAlerts, DAY_MS, FakeSsm, TestClock, testConfig } from './helpers.ts';

describe('loadLdapTlsMaterial', () => {
  let ssm: FakeSsm;
  let clock: TestClock;
  let rotate: () => Promise<unknown>;

  beforeEach(() => {
    ssm = new FakeSsm();
    clock = new TestClock(new Date('2027-01-01T00:00:00Z'));
    const store = new SsmCertificateStore(ssm.client, '/test/pki');
    rotate = () => rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
  });

  afterEach(() => ssm.restore());

  it('returns the active client material', async () => {
    await rotate();
    const material = await loadLdapTlsMaterial(new SsmParameterReader(ssm.client), '/test/pki');

    expect(material.ca).toHaveLength(1);
    expect(new x509.X509Certificate(material.cert).subject).toBe('CN=fleet-login-lambda');
    expect(material.key).toContain('BEGIN PRIVATE KEY');
  });

  it('returns the server pair for the server role', async () => {
    await rotate();
    const material = await loadTlsMaterial(new SsmParameterReader(ssm.client), 'server', '/test/pki');

    expect(new x509.X509Certificate(material.cert).subject).toBe('CN=localhost');
  });

  it('switches pairs only when the cache expires', async () => {
    await rotate();
    let nowMs = 0;
    const reader = new SsmParameterReader(ssm.client, 1000, () => nowMs);
    const before = await loadLdapTlsMaterial(reader, '/test/pki');

    clock.advance(61 * DAY_MS);
    await rotate();
    const cached = await loadLdapTlsMaterial(reader, '/test/pki');
    nowMs += 1001;
    const after = await loadLdapTlsMaterial(reader, '/test/pki');

    expect(cached).toEqual(before);
    expect(after.cert).not.toBe(before.cert);
    expect(after.key).not.toBe(before.key);
  });

  it('fails naming the pointer when the prefix is empty', async () => {
    await expect(loadLdapTlsMaterial(new SsmParameterReader(ssm.client), '/test/pki')).rejects.toThrow(
      '/test/pki/active',
    );
  });

  it('fails naming the pointer when it is not valid JSON', async () => {
    ssm.parameters.set('/test/pki/active', { type: 'String', versions: ['{'] });
    await expect(loadLdapTlsMaterial(new SsmParameterReader(ssm.client), '/test/pki')).rejects.toThrow(
      'SSM parameter /test/pki/active is not valid JSON',
    );
  });
});
