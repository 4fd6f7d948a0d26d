import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'ldapts';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LdapStore } from '../../shared/directory/ldap-store.ts';
import { SsmParameterReader } from '../../shared/parameters.ts';
import type { PkiConfig } from '../../shared/pki/config.ts';
import { createRootCa, issueLeaf, type LeafIssuer, type LeafRequest } from '../../shared/pki/issue.ts';
import { loadActiveCertificates, nextRotationStep } from '../../shared/pki/plan.ts';
import { rotateCertificates } from '../../shared/pki/rotate.ts';
import { installLdapServerCert, type ServerInstallOptions } from '../../shared/pki/server-install.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { loadLdapTlsMaterial, type TlsMaterial } from '../../shared/pki/tls-material.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';
import { collectAlerts, DAY_MS, FakeSsm, SimulatedCrash, TestClock, testConfig } from './helpers.ts';

const SUFFIX = 'dc=example,dc=test';
const ROOT_LDIF = `dn: ${SUFFIX}
objectClass: dcObject
objectClass: organization
o: example
dc: example
`;
const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;

/** Binds as the directory admin over mutual TLS and returns "bound" or the error message. */
async function bindWith(slapd: SlapdServer, material: TlsMaterial): Promise<string> {
  const client = new Client({ url: slapd.url, tlsOptions: material, connectTimeout: 5_000, timeout: 5_000 });
  try {
    await client.bind(slapd.adminDn, slapd.adminPassword);
    return 'bound';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

describe('LDAP link against slapd with TLSVerifyClient demand', () => {
  let ssm: FakeSsm;
  let store: SsmCertificateStore;
  let reader: SsmParameterReader;
  let dir: string;
  let slapd: SlapdServer | undefined;
  let install: ServerInstallOptions;

  beforeEach(async () => {
    ssm = new FakeSsm();
    store = new SsmCertificateStore(ssm.client, '/test/pki');
    reader = new SsmParameterReader(ssm.client, 0);
    dir = await mkdtemp(join(tmpdir(), 'fleet-login-pki-slapd-'));
    install = {
      reader,
      prefix: '/test/pki',
      certFile: join(dir, 'server.pem'),
      keyFile: join(dir, 'server.key'),
      caFile: join(dir, 'ca.pem'),
      reloadCommand: undefined,
    };
  });

  afterEach(async () => {
    await slapd?.stop();
    slapd = undefined;
    ssm.restore();
    await rm(dir, { recursive: true, force: true });
  });

  /** Installs the active server files and starts slapd on them, or restarts it when a file changed. */
  async function deployServer(): Promise<SlapdServer> {
    const { changed } = await installLdapServerCert(install);
    if (slapd === undefined) {
      slapd = await startSlapd({ suffix: SUFFIX, ldif: [ROOT_LDIF], tls: install });
    } else if (changed.length > 0) {
      await slapd.restart();
    }
    return slapd;
  }

  function rotate(config: PkiConfig, clock: TestClock, issue?: LeafIssuer) {
    const { send } = collectAlerts();
    return rotateCertificates(config, {
      store,
      alerter: { send },
      now: clock.now,
      ...(issue ? { issueLeaf: issue } : {}),
    });
  }

  it('binds only with the issued client certificate', async () => {
    const clock = new TestClock();
    const started = performance.now();
    await rotate(testConfig(), clock);
    const bootstrapMs = performance.now() - started;
    const server = await deployServer();
    const client = await loadLdapTlsMaterial(reader, '/test/pki');
    const state = await store.readState();
    const ca = await store.readPair('ca', state?.ca ?? { cert: 0, key: 0 });
    const now = clock.now().getTime();
    const request = (issuer: typeof ca, overrides: Partial<LeafRequest> = {}): LeafRequest => ({
      role: 'client',
      commonName: 'intruder',
      dnsNames: [],
      ipAddresses: [],
      issuer,
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + DAY_MS),
      ...overrides,
    });
    const selfSigned = await createRootCa('intruder', {
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + DAY_MS),
    });
    const otherCa = await createRootCa('other CA', {
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + DAY_MS),
    });
    const expired = await issueLeaf(
      request(ca, { notBefore: new Date(now - 2 * DAY_MS), notAfter: new Date(now - DAY_MS) }),
    );
    const fromOtherCa = await issueLeaf(request(otherCa));
    const unrelated = await issueLeaf(request(ca));
    const as = (pair: { certPem: string; keyPem: string }) => ({
      ca: client.ca,
      cert: pair.certPem,
      key: pair.keyPem,
    });

    expect(await bindWith(server, client)).toBe('bound');
    expect(await bindWith(server, as(selfSigned))).not.toBe('bound');
    expect(await bindWith(server, as(expired))).not.toBe('bound');
    expect(await bindWith(server, as(fromOtherCa))).not.toBe('bound');
    expect(await bindWith(server, { ...client, key: unrelated.keyPem })).not.toBe('bound');
    // A fresh leaf of the same CA binds, so the refusals above were for the certificates alone.
    expect(await bindWith(server, as(unrelated))).toBe('bound');
    console.info(`pki bootstrap run against the SSM fake: ${bootstrapMs.toFixed(0)} ms`);
    expect(bootstrapMs).toBeLessThan(5_000);
  });

  it('lets the LDAP store bind', async () => {
    const clock = new TestClock();
    await rotate(testConfig(), clock);
    const server = await deployServer();
    const ldapStore = new LdapStore({
      url: server.url,
      bindDn: server.adminDn,
      bindPassword: server.adminPassword,
      tls: () => loadLdapTlsMaterial(reader, '/test/pki'),
      bases: { people: `ou=people,${SUFFIX}`, groups: `ou=groups,${SUFFIX}` },
      counterDn: `cn=counter,${SUFFIX}`,
    });
    try {
      await expect(ldapStore.findPerson('nobody')).resolves.toBeUndefined();
    } finally {
      await ldapStore.close();
    }
  });

  it('keeps binding through a CA rotation', async () => {
    // slapd checks validity against the real clock, so the test clock starts in the past and the last step
    // lands on the present. One-minute overlaps keep every leaf of the rotation valid now.
    const clock = new TestClock(new Date(Date.now() - 201 * DAY_MS - 2 * MINUTE_MS));
    const config = testConfig(
      {
        PKI_CA_LIFETIME_DAYS: '300',
        PKI_LEAF_LIFETIME_DAYS: '60',
      },
      MINUTE_MS,
    );
    await rotate(config, clock);

    clock.advance(201 * DAY_MS);
    const started = performance.now();
    expect((await rotate(config, clock)).steps.map((step) => step.kind)).toEqual([
      'start-ca-rotation',
      'renew-leaf',
      'renew-leaf',
    ]);
    const rotationMs = performance.now() - started;
    const oldClient = await loadLdapTlsMaterial(reader, '/test/pki');
    let server = await deployServer();
    expect(await bindWith(server, oldClient)).toBe('bound');

    clock.advance(MINUTE_MS);
    expect((await rotate(config, clock)).steps.map((step) => step.kind)).toEqual(['issue-from-next-ca']);
    const newClient = await loadLdapTlsMaterial(reader, '/test/pki');
    server = await deployServer();
    // The trust file contains both CAs, so leaves of either connect, with either bundle.
    expect(await bindWith(server, newClient)).toBe('bound');
    expect(await bindWith(server, { ...newClient, cert: oldClient.cert, key: oldClient.key })).toBe('bound');
    expect(await bindWith(server, oldClient)).toBe('bound');

    clock.advance(MINUTE_MS);
    expect((await rotate(config, clock)).steps.map((step) => step.kind)).toEqual(['drop-previous-ca']);
    const dropped = await loadLdapTlsMaterial(reader, '/test/pki');
    server = await deployServer();
    expect(await bindWith(server, dropped)).toBe('bound');
    expect(await bindWith(server, { ...dropped, cert: oldClient.cert, key: oldClient.key })).not.toBe(
      'bound',
    );
    console.info(`pki CA rotation start run against the SSM fake: ${rotationMs.toFixed(0)} ms`);
    expect(rotationMs).toBeLessThan(5_000);
  });

  it('keeps binding through a key mismatch', async () => {
    const clock = new TestClock(new Date(Date.now() - 61 * DAY_MS));
    await rotate(testConfig(), clock);
    const server = await deployServer();
    const used: string[] = [];
    const ldapStore = new LdapStore({
      url: server.url,
      bindDn: server.adminDn,
      bindPassword: server.adminPassword,
      tls: async () => {
        const material = await loadLdapTlsMaterial(reader, '/test/pki');
        used.push(material.cert);
        return material;
      },
      bases: { people: `ou=people,${SUFFIX}`, groups: `ou=groups,${SUFFIX}` },
      counterDn: `cn=counter,${SUFFIX}`,
    });
    const { alerts, send } = collectAlerts();
    const mismatched: LeafIssuer = async (request) => ({
      certPem: (await issueLeaf(request)).certPem,
      keyPem: (await issueLeaf(request)).keyPem,
    });

    try {
      await ldapStore.findPerson('nobody');
      clock.advance(61 * DAY_MS);
      const failed = rotateCertificates(testConfig(), {
        store,
        alerter: { send },
        now: clock.now,
        issueLeaf: mismatched,
      });
      await expect(failed).rejects.toThrow('does not match');
      expect(alerts.map((alert) => alert.severity)).toContain('critical');
      await expect(ldapStore.findPerson('nobody')).resolves.toBeUndefined();
      expect(used[1]).toBe(used[0]);

      await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });
      await expect(ldapStore.findPerson('nobody')).resolves.toBeUndefined();
      expect(used[2]).not.toBe(used[0]);
    } finally {
      await ldapStore.close();
    }
  });
});

describe('CA rotation against slapd after a crash', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  // The run below takes three steps. Each writes the active pointer once, as its last write.
  it.each([1, 2, 3])('recovers from a crash after step %i', async (step) => {
    const ssm = new FakeSsm();
    const dir = await mkdtemp(join(tmpdir(), 'fleet-login-pki-crash-'));
    dirs.push(dir);
    let slapd: SlapdServer | undefined;
    try {
      const store = new SsmCertificateStore(ssm.client, '/test/pki');
      const reader = new SsmParameterReader(ssm.client, 0);
      const clock = new TestClock(new Date(Date.now() - 201 * DAY_MS));
      const config = testConfig(
        {
          PKI_CA_LIFETIME_DAYS: '300',
          PKI_LEAF_LIFETIME_DAYS: '60',
        },
        0,
      );
      const dependencies = { store, alerter: collectAlerts(), now: clock.now };
      await rotateCertificates(config, dependencies);
      clock.advance(201 * DAY_MS);

      // The bootstrap wrote the pointer once, so crash right after the pointer write of the chosen step.
      ssm.crashAfterWrite = { name: '/test/pki/active', count: 1 + step };
      await expect(rotateCertificates(config, dependencies)).rejects.toMatchObject({
        cause: expect.any(SimulatedCrash),
      });
      await rotateCertificates(config, dependencies);

      const active = await loadActiveCertificates(store);
      expect(nextRotationStep(active, config, clock.now())).toBeUndefined();
      const install = {
        reader,
        prefix: '/test/pki',
        certFile: join(dir, 'server.pem'),
        keyFile: join(dir, 'server.key'),
        caFile: join(dir, 'ca.pem'),
        reloadCommand: undefined,
      };
      await installLdapServerCert(install);
      slapd = await startSlapd({ suffix: SUFFIX, ldif: [ROOT_LDIF], tls: install });
      expect(await bindWith(slapd, await loadLdapTlsMaterial(reader, '/test/pki'))).toBe('bound');
    } finally {
      await slapd?.stop();
      ssm.restore();
    }
  });
});
