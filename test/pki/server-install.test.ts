import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SsmParameterReader } from '../../shared/parameters.ts';
import { joinPem } from '../../shared/pki/crypto.ts';
import { CertificateError } from '../../shared/pki/errors.ts';
import { issueLeaf } from '../../shared/pki/issue.ts';
import { rotateCertificates } from '../../shared/pki/rotate.ts';
import { installLdapServerCert, type ServerInstallOptions } from '../../shared/pki/server-install.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { loadTlsMaterial } from '../../shared/pki/tls-material.ts';
import { collectAlerts, DAY_MS, FakeSsm, TestClock, testConfig } from './helpers.ts';

describe('installLdapServerCert', () => {
  let ssm: FakeSsm;
  let store: SsmCertificateStore;
  let clock: TestClock;
  let dir: string;
  let options: ServerInstallOptions;

  beforeEach(async () => {
    ssm = new FakeSsm();
    store = new SsmCertificateStore(ssm.client, '/test/pki');
    clock = new TestClock();
    dir = await mkdtemp(join(tmpdir(), 'fleet-login-pki-install-'));
    options = {
      reader: new SsmParameterReader(ssm.client, 0),
      prefix: '/test/pki',
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server.key'),
      caFile: join(dir, 'ca.pem'),
      reloadCommand: `echo reloaded >> ${join(dir, 'reloads')}`,
      now: clock.now,
    };
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
  });

  afterEach(async () => {
    ssm.restore();
    await rm(dir, { recursive: true, force: true });
  });

  const reloads = async () =>
    (await readFile(join(dir, 'reloads'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  it('installs the server files and reloads', async () => {
    const result = await installLdapServerCert(options);
    const material = await loadTlsMaterial(options.reader, 'server', '/test/pki');

    expect(result).toEqual({ changed: [options.caFile, options.certFile, options.keyFile], reloaded: true });
    expect(await readFile(options.certFile, 'utf8')).toBe(material.cert);
    expect(await readFile(options.keyFile, 'utf8')).toBe(material.key);
    expect(await readFile(options.caFile, 'utf8')).toBe(joinPem(material.ca));
    expect((await stat(options.keyFile)).mode & 0o777).toBe(0o600);
    expect(await reloads()).toEqual(['reloaded']);
  });

  it('skips unchanged files and the reload', async () => {
    await installLdapServerCert(options);
    const result = await installLdapServerCert(options);

    expect(result).toEqual({ changed: [], reloaded: false });
    expect(await reloads()).toHaveLength(1);
  });

  it('replaces only the files that changed after a renewal', async () => {
    await installLdapServerCert(options);
    clock.advance(61 * DAY_MS);
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });

    const result = await installLdapServerCert(options);

    expect(result.changed).toEqual([options.certFile, options.keyFile]);
    expect(await reloads()).toHaveLength(2);
  });

  it('keeps the mode of an existing key file', async () => {
    await writeFile(options.keyFile, 'old', { mode: 0o640 });
    await installLdapServerCert(options);

    expect((await stat(options.keyFile)).mode & 0o777).toBe(0o640);
  });

  it('installs nothing for a mismatched key', async () => {
    const state = await store.readState();
    const server = await store.readPair('server', state?.server ?? { cert: 0, key: 0 });
    const ca = await store.readPair('ca', state?.ca ?? { cert: 0, key: 0 });
    const other = await issueLeaf({
      role: 'server',
      commonName: 'other',
      dnsNames: ['localhost'],
      ipAddresses: [],
      issuer: ca,
      notBefore: new Date(clock.now().getTime() - DAY_MS),
      notAfter: new Date(clock.now().getTime() + DAY_MS),
    });
    const ref = await store.putPair('server', { certPem: server.certPem, keyPem: other.keyPem });
    if (state) await store.writeState({ ...state, server: ref });

    await expect(installLdapServerCert(options)).rejects.toBeInstanceOf(CertificateError);
    await expect(stat(options.keyFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await reloads()).toEqual([]);
  });

  it('reports a failing reload command', async () => {
    const failing = { ...options, reloadCommand: 'exit 3' };

    await expect(installLdapServerCert(failing)).rejects.toThrow('reload command "exit 3" failed');
    expect(await readFile(options.certFile, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('leaves no temporary files behind', async () => {
    await installLdapServerCert(options);

    expect((await readdir(dir)).sort()).toEqual(['ca.pem', 'reloads', 'server.key', 'server.pem']);
  });
});
