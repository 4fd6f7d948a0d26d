import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SsmParameterReader } from '../../shared/parameters.ts';
import { createRootCa, issueLeaf, type LeafIssuer, type LeafRequest } from '../../shared/pki/issue.ts';
import { rotateCertificates } from '../../shared/pki/rotate.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { loadLdapTlsMaterial, loadTlsMaterial, type TlsMaterial } from '../../shared/pki/tls-material.ts';
import { collectAlerts, DAY_MS, FakeSsm, TestClock, testConfig } from './helpers.ts';
import { startMutualTlsServer, type TlsTestServer, tryMutualTls } from './tls-helpers.ts';

const HOUR_MS = 60 * 60 * 1000;

describe('mutual TLS with issued certificates', () => {
  let ssm: FakeSsm;
  let store: SsmCertificateStore;
  let clock: TestClock;
  let reader: SsmParameterReader;
  const servers: TlsTestServer[] = [];

  beforeEach(() => {
    ssm = new FakeSsm();
    store = new SsmCertificateStore(ssm.client, '/test/pki');
    clock = new TestClock();
    reader = new SsmParameterReader(ssm.client, 0);
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
    ssm.restore();
  });

  async function startServer(): Promise<number> {
    const server = await startMutualTlsServer(await loadTlsMaterial(reader, 'server', '/test/pki'));
    servers.push(server);
    return server.port;
  }

  function clientRequest(issuer: { certPem: string; keyPem: string }, overrides: Partial<LeafRequest> = {}) {
    const now = clock.now().getTime();
    return {
      role: 'client' as const,
      commonName: 'intruder',
      dnsNames: [],
      ipAddresses: [],
      issuer,
      notBefore: new Date(now - HOUR_MS),
      notAfter: new Date(now + DAY_MS),
      ...overrides,
    };
  }

  it('accepts only the issued client certificate', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
    const port = await startServer();
    const client = await loadLdapTlsMaterial(reader, '/test/pki');
    const state = await store.readState();
    const ca = await store.readPair('ca', state?.ca ?? { cert: 0, key: 0 });
    const window = {
      notBefore: new Date(clock.now().getTime() - HOUR_MS),
      notAfter: new Date(clock.now().getTime() + DAY_MS),
    };
    const selfSigned = await createRootCa('intruder', window);
    const otherCa = await createRootCa('other CA', window);
    const fromOtherCa = await issueLeaf(clientRequest(otherCa));
    const expired = await issueLeaf(
      clientRequest(ca, {
        notBefore: new Date(clock.now().getTime() - 2 * DAY_MS),
        notAfter: new Date(clock.now().getTime() - DAY_MS),
      }),
    );
    const other = await issueLeaf(clientRequest(ca));
    const as = (pair: { certPem: string; keyPem: string }): TlsMaterial => ({
      ca: client.ca,
      cert: pair.certPem,
      key: pair.keyPem,
    });

    expect(await tryMutualTls(port, client)).toBe('accepted');
    expect(await tryMutualTls(port, { ca: client.ca, cert: '', key: '' })).not.toBe('accepted');
    expect(await tryMutualTls(port, as(selfSigned))).not.toBe('accepted');
    expect(await tryMutualTls(port, as(fromOtherCa))).not.toBe('accepted');
    expect(await tryMutualTls(port, as(expired))).not.toBe('accepted');
    expect(await tryMutualTls(port, { ...client, key: other.keyPem })).not.toBe('accepted');
    // The issued leaf still works after the refusals, so they were refused for their certificates.
    expect(await tryMutualTls(port, as(other))).toBe('accepted');
  });

  it('keeps the link up across a CA rotation', async () => {
    // TLS checks validity against the real clock, so the test clock starts in the past and the last step
    // lands on the present. One-minute overlaps keep every leaf of the rotation valid now.
    const minute = 60 * 1000;
    clock = new TestClock(new Date(Date.now() - 201 * DAY_MS - 2 * minute));
    const config = testConfig(
      {
        PKI_CA_LIFETIME_DAYS: '300',
        PKI_LEAF_LIFETIME_DAYS: '60',
      },
      minute,
    );
    const run = () => rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now });
    await run();

    clock.advance(201 * DAY_MS);
    const started = await run();
    expect(started.steps.map((step) => step.kind)).toEqual(['start-ca-rotation', 'renew-leaf', 'renew-leaf']);
    const oldClient = await loadLdapTlsMaterial(reader, '/test/pki');
    expect(oldClient.ca).toHaveLength(2);
    // The server reloads the bundle with both CAs, still serving a leaf of the old CA.
    let port = await startServer();
    expect(await tryMutualTls(port, oldClient)).toBe('accepted');

    clock.advance(minute);
    expect((await run()).steps.map((step) => step.kind)).toEqual(['issue-from-next-ca']);
    const newClient = await loadLdapTlsMaterial(reader, '/test/pki');
    port = await startServer();
    // Old and new leaves both connect while the bundle contains both CAs.
    expect(await tryMutualTls(port, { ...newClient, cert: oldClient.cert, key: oldClient.key })).toBe(
      'accepted',
    );
    expect(await tryMutualTls(port, oldClient)).toBe('accepted');
    expect(await tryMutualTls(port, newClient)).toBe('accepted');

    clock.advance(minute);
    expect((await run()).steps.map((step) => step.kind)).toEqual(['drop-previous-ca']);
    const dropped = await loadLdapTlsMaterial(reader, '/test/pki');
    expect(dropped.ca).toEqual([oldClient.ca[1]]);
    port = await startServer();
    expect(await tryMutualTls(port, dropped)).toBe('accepted');
    // The old leaf is still within its validity, so it is refused for its CA alone.
    expect(await tryMutualTls(port, { ...dropped, cert: oldClient.cert, key: oldClient.key })).not.toBe(
      'accepted',
    );
  });

  it('keeps the old pair after a mismatched key', async () => {
    // The clock starts 61 days back, so the renewal below happens at the real present that TLS checks against.
    clock = new TestClock(new Date(Date.now() - 61 * DAY_MS));
    const { alerts, send } = collectAlerts();
    await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });
    const port = await startServer();
    const before = await loadLdapTlsMaterial(reader, '/test/pki');
    const mismatched: LeafIssuer = async (request) => ({
      certPem: (await issueLeaf(request)).certPem,
      keyPem: (await issueLeaf(request)).keyPem,
    });

    clock.advance(61 * DAY_MS);
    await expect(
      rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now, issueLeaf: mismatched }),
    ).rejects.toThrow('does not match');
    const kept = await loadLdapTlsMaterial(reader, '/test/pki');
    expect(kept).toEqual(before);
    expect(await tryMutualTls(port, kept)).toBe('accepted');
    expect(alerts.at(-1)?.severity).toBe('critical');

    await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });
    const promoted = await loadLdapTlsMaterial(reader, '/test/pki');
    expect(promoted.cert).not.toBe(before.cert);
    expect(await tryMutualTls(port, promoted)).toBe('accepted');
  });
});
