import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCertificatePair } from '../../shared/pki/checks.ts';
import { splitPem, x509 } from '../../shared/pki/crypto.ts';
import { CertificateError } from '../../shared/pki/errors.ts';
import { createRootCa, issueLeaf, type LeafIssuer } from '../../shared/pki/issue.ts';
import { loadActiveCertificates, nextRotationStep } from '../../shared/pki/plan.ts';
import { importCa, rotateCertificates } from '../../shared/pki/rotate.ts';
import { SSM_ACTIONS, SsmCertificateStore } from '../../shared/pki/store.ts';
import { collectAlerts, DAY_MS, FakeSsm, SimulatedCrash, TestClock, testConfig } from './helpers.ts';

const HOUR_MS = 60 * 60 * 1000;

describe('rotateCertificates', () => {
  let ssm: FakeSsm;
  let store: SsmCertificateStore;
  let clock: TestClock;

  beforeEach(() => {
    ssm = new FakeSsm();
    store = new SsmCertificateStore(ssm.client, '/test/pki');
    clock = new TestClock(new Date('2027-01-01T00:00:00Z'));
  });

  afterEach(() => ssm.restore());

  /** Checks that the active set is complete and each leaf chains to the active trust bundle. */
  async function expectConsistent(config = testConfig()): Promise<void> {
    const state = await store.readState();
    expect(state).toBeDefined();
    if (state === undefined) return;
    const anchorsPem = await store.readTrustBundle(state.trustBundle);
    for (const role of ['client', 'server'] as const) {
      const pair = await store.readPair(role, state[role]);
      const maxLifetimeMs = config.leafLifetimeMs + HOUR_MS;
      await checkCertificatePair({
        label: role,
        pair,
        anchorsPem,
        usage: role,
        now: clock.now(),
        maxLifetimeMs,
      });
    }
  }

  it('bootstraps an empty prefix', async () => {
    const { alerts, send } = collectAlerts();
    const report = await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });

    expect(report.steps.map((step) => step.kind)).toEqual(['bootstrap']);
    expect(report.certificates.map((summary) => summary.slot)).toEqual(['ca', 'server', 'client']);
    expect(ssm.latest('/test/pki/active')).toBeDefined();
    expect(splitPem(ssm.latest('/test/pki/trust-bundle') ?? '')).toHaveLength(1);
    expect(alerts.map((alert) => alert.severity)).toEqual(['info']);
    await expectConsistent();
  });

  it('stores keys as SecureString only', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });

    for (const put of ssm.puts) {
      expect(put.Name?.startsWith('/test/pki/')).toBe(true);
      expect(put.Type).toBe(put.Name?.endsWith('/key') ? 'SecureString' : 'String');
      expect((put.Value ?? '').length).toBeLessThanOrEqual(4096);
    }
    expect(ssm.puts.filter((put) => put.Type === 'SecureString').map((put) => put.Name)).toEqual([
      '/test/pki/ca/key',
      '/test/pki/client/key',
      '/test/pki/server/key',
    ]);
  });

  it('passes the KMS key for SecureStrings only', async () => {
    const keyStore = new SsmCertificateStore(ssm.client, '/test/pki', 'alias/fleet-login');
    await rotateCertificates(testConfig(), {
      store: keyStore,
      alerter: collectAlerts(),
      now: clock.now,
    });

    for (const put of ssm.puts) {
      expect(put.KeyId).toBe(put.Type === 'SecureString' ? 'alias/fleet-login' : undefined);
    }
  });

  it('calls only the SSM actions listed in SSM_ACTIONS', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
    clock.advance(80 * DAY_MS);
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });

    expect([...ssm.actions].sort()).toEqual([...SSM_ACTIONS].sort());
    expect(ssm.unhandledActions()).toEqual([]);
  });

  it('changes nothing when no certificate is due', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
    const puts = ssm.puts.length;
    const { alerts, send } = collectAlerts();

    clock.advance(59 * DAY_MS);
    const report = await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });

    expect(report.steps).toEqual([]);
    expect(ssm.puts.length).toBe(puts);
    expect(alerts).toEqual([]);
  });

  it('renews leaves past 2/3 of their lifetime', async () => {
    const first = await rotateCertificates(testConfig(), {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });
    clock.advance(61 * DAY_MS);
    const { alerts, send } = collectAlerts();
    const second = await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });

    expect(second.steps.map((step) => (step.kind === 'renew-leaf' ? step.role : step.kind))).toEqual([
      'server',
      'client',
    ]);
    expect(second.state.client).not.toEqual(first.state.client);
    expect(second.state.server).not.toEqual(first.state.server);
    expect(second.state.ca).toEqual(first.state.ca);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.message).toContain('renew-leaf server');
    await expectConsistent();
  });

  it('honours a configured renew fraction', async () => {
    const config = testConfig({ PKI_RENEW_FRACTION: '0.5', PKI_EXPIRY_ALERT_DAYS: '7' });
    await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now });
    clock.advance(44 * DAY_MS);
    expect(
      (await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now })).steps,
    ).toEqual([]);
    clock.advance(2 * DAY_MS);
    expect(
      (await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now })).steps,
    ).toHaveLength(2);
  });

  it('rotates the CA through both trust phases', async () => {
    const config = testConfig({ PKI_CA_LIFETIME_DAYS: '300', PKI_LEAF_LIFETIME_DAYS: '60' });
    const run = async () =>
      (await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now })).steps;
    const bundleSize = async () =>
      splitPem(await store.readTrustBundle((await store.readState())?.trustBundle ?? 0)).length;
    const bootstrapped = (
      await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now })
    ).state;

    clock.advance(201 * DAY_MS);
    const started = await run();
    expect(started.map((step) => step.kind)).toContain('start-ca-rotation');
    expect(await bundleSize()).toBe(2);
    expect((await store.readState())?.ca).toEqual(bootstrapped.ca);

    clock.advance(23 * HOUR_MS);
    expect(await run()).toEqual([]);

    clock.advance(2 * HOUR_MS);
    expect((await run()).map((step) => step.kind)).toEqual(['issue-from-next-ca']);
    const active = await loadActiveCertificates(store);
    expect(active?.client.issuer).toBe(active?.ca.subject);
    expect(active?.ca.subject).not.toBe(
      new x509.X509Certificate(await store.readCertificate('ca', bootstrapped.ca.cert)).subject,
    );
    expect(await bundleSize()).toBe(2);

    clock.advance(25 * HOUR_MS);
    expect((await run()).map((step) => step.kind)).toEqual(['drop-previous-ca']);
    expect(await bundleSize()).toBe(1);
    expect((await store.readState())?.caRotation).toBeUndefined();
    await expectConsistent(config);
  });

  it('rotates the CA in one run without overlap', async () => {
    const config = testConfig(
      {
        PKI_CA_LIFETIME_DAYS: '300',
        PKI_LEAF_LIFETIME_DAYS: '60',
      },
      0,
    );
    await rotateCertificates(config, { store, alerter: collectAlerts(), now: clock.now });
    clock.advance(201 * DAY_MS);
    const report = await rotateCertificates(config, {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });

    expect(report.steps.map((step) => step.kind)).toEqual([
      'start-ca-rotation',
      'issue-from-next-ca',
      'drop-previous-ca',
    ]);
    await expectConsistent(config);
  });

  it('issues leaves through a configured intermediate', async () => {
    const config = testConfig({ PKI_USE_INTERMEDIATE: 'true' });
    const report = await rotateCertificates(config, {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });

    expect(report.certificates.map((summary) => summary.slot)).toEqual([
      'ca',
      'intermediate',
      'server',
      'client',
    ]);
    const state = await store.readState();
    expect(splitPem(await store.readCertificate('client', state?.client.cert ?? 0))).toHaveLength(2);
    await expectConsistent(config);

    clock.advance(244 * DAY_MS);
    const renewed = await rotateCertificates(config, {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });
    expect(renewed.steps.map((step) => step.kind)).toEqual([
      'renew-intermediate',
      'renew-leaf',
      'renew-leaf',
    ]);
    await expectConsistent(config);
  });

  it('drops an intermediate that was turned off', async () => {
    await rotateCertificates(testConfig({ PKI_USE_INTERMEDIATE: 'true' }), {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });
    const report = await rotateCertificates(testConfig(), {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });

    expect(report.steps.map((step) => step.kind)).toEqual(['renew-intermediate', 'renew-leaf', 'renew-leaf']);
    expect(report.state.intermediate).toBeUndefined();
    await expectConsistent();
  });

  it('keeps the old pair on a key mismatch', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
    const before = await store.readState();
    clock.advance(61 * DAY_MS);
    const mismatched: LeafIssuer = async (request) => {
      const issued = await issueLeaf(request);
      const other = await issueLeaf(request);
      return { certPem: issued.certPem, keyPem: other.keyPem };
    };
    const { alerts, send } = collectAlerts();

    const failed = rotateCertificates(testConfig(), {
      store,
      alerter: { send },
      now: clock.now,
      issueLeaf: mismatched,
    });

    await expect(failed).rejects.toMatchObject({ check: 'key-match' });
    await expect(failed).rejects.toBeInstanceOf(CertificateError);
    expect(await store.readState()).toEqual(before);
    expect(alerts.map((alert) => alert.severity)).toEqual(['critical']);
    expect(alerts[0]?.message).toContain('does not match');
    expect(alerts[0]?.message).not.toContain('PRIVATE KEY');
    expect(ssm.puts.filter((put) => put.Name?.endsWith('/key')).length).toBe(3);

    const repaired = await rotateCertificates(testConfig(), {
      store,
      alerter: collectAlerts(),
      now: clock.now,
    });
    expect(repaired.steps).toHaveLength(2);
    expect(repaired.state.client).not.toEqual(before?.client);
    await expectConsistent();
  });

  it('alerts on an active certificate close to expiry', async () => {
    const ca = await createRootCa('expiring CA', {
      notBefore: new Date(clock.now().getTime() - 300 * DAY_MS),
      notAfter: new Date(clock.now().getTime() + 10 * DAY_MS),
    });
    await importCa(testConfig(), { store, alerter: collectAlerts(), now: clock.now }, ca);
    const { alerts, send } = collectAlerts();

    const report = await rotateCertificates(testConfig(), { store, alerter: { send }, now: clock.now });

    expect(report.steps.map((step) => step.kind)).toEqual(['start-ca-rotation']);
    expect(report.expiring.map((summary) => summary.slot)).toEqual(['ca', 'server', 'client']);
    expect(alerts.map((alert) => alert.severity)).toEqual(['info', 'critical']);
    expect(alerts[1]?.subject).toContain('expires soon');
  });

  it('rejects an import into a used prefix', async () => {
    await rotateCertificates(testConfig(), { store, alerter: collectAlerts(), now: clock.now });
    const ca = await createRootCa('late CA', {
      notBefore: clock.now(),
      notAfter: new Date(clock.now().getTime() + 900 * DAY_MS),
    });

    await expect(
      importCa(testConfig(), { store, alerter: collectAlerts(), now: clock.now }, ca),
    ).rejects.toThrow('already contains certificates');
  });

  it('rejects an imported CA whose key does not match', async () => {
    const window = { notBefore: clock.now(), notAfter: new Date(clock.now().getTime() + 900 * DAY_MS) };
    const ca = await createRootCa('import CA', window);
    const other = await createRootCa('other CA', window);

    await expect(
      importCa(
        testConfig(),
        { store, alerter: collectAlerts(), now: clock.now },
        { ...ca, keyPem: other.keyPem },
      ),
    ).rejects.toMatchObject({ check: 'key-match' });
    expect(ssm.puts).toEqual([]);
  });

  it('issues leaves from an imported CA', async () => {
    const window = { notBefore: clock.now(), notAfter: new Date(clock.now().getTime() + 900 * DAY_MS) };
    const ca = await createRootCa('import CA', window);
    await importCa(testConfig(), { store, alerter: collectAlerts(), now: clock.now }, ca);

    const active = await loadActiveCertificates(store);
    expect(active?.ca.subject).toBe('CN=import CA');
    expect(active?.server.issuer).toBe('CN=import CA');
  });
});

describe('rotateCertificates after a crash', () => {
  const scenarios: {
    name: string;
    env: Record<string, string>;
    trustOverlapMs?: number;
    prepare: number;
    advanceDays: number;
  }[] = [
    { name: 'bootstrap', env: {}, prepare: 0, advanceDays: 0 },
    { name: 'leaf renewal', env: {}, prepare: 1, advanceDays: 61 },
    {
      name: 'CA rotation',
      env: { PKI_CA_LIFETIME_DAYS: '300', PKI_LEAF_LIFETIME_DAYS: '60' },
      trustOverlapMs: 0,
      prepare: 1,
      advanceDays: 201,
    },
    { name: 'intermediate renewal', env: { PKI_USE_INTERMEDIATE: 'true' }, prepare: 1, advanceDays: 244 },
  ];

  it.each(scenarios)(
    'ends consistent after a crash at any write of $name',
    async ({ env, trustOverlapMs, prepare, advanceDays }) => {
      const config = testConfig(env, trustOverlapMs);
      // First count the writes of an undisturbed run, then crash at each of them in turn.
      const writes = await countWrites(config, prepare, advanceDays);
      expect(writes).toBeGreaterThan(1);

      for (let crashAt = 1; crashAt <= writes; crashAt++) {
        const ssm = new FakeSsm();
        try {
          const store = new SsmCertificateStore(ssm.client, '/test/pki');
          const clock = new TestClock(new Date('2027-01-01T00:00:00Z'));
          const dependencies = { store, alerter: collectAlerts(), now: clock.now };
          if (prepare) await rotateCertificates(config, dependencies);
          clock.advance(advanceDays * DAY_MS);

          ssm.crashAtPut = ssm.puts.length + crashAt;
          await expect(rotateCertificates(config, dependencies)).rejects.toMatchObject({
            cause: expect.any(SimulatedCrash),
          });
          await rotateCertificates(config, dependencies);

          const active = await loadActiveCertificates(store);
          expect(nextRotationStep(active, config, clock.now())).toBeUndefined();
          const state = active?.state;
          const anchorsPem = await store.readTrustBundle(state?.trustBundle ?? 0);
          for (const role of ['client', 'server'] as const) {
            const pair = await store.readPair(role, state?.[role] ?? { cert: 0, key: 0 });
            const maxLifetimeMs = config.leafLifetimeMs + HOUR_MS;
            await checkCertificatePair({
              label: role,
              pair,
              anchorsPem,
              usage: role,
              now: clock.now(),
              maxLifetimeMs,
            });
          }
        } finally {
          ssm.restore();
        }
      }
    },
  );
});

async function countWrites(config: ReturnType<typeof testConfig>, prepare: number, advanceDays: number) {
  const ssm = new FakeSsm();
  try {
    const store = new SsmCertificateStore(ssm.client, '/test/pki');
    const clock = new TestClock(new Date('2027-01-01T00:00:00Z'));
    const dependencies = { store, alerter: collectAlerts(), now: clock.now };
    if (prepare) await rotateCertificates(config, dependencies);
    clock.advance(advanceDays * DAY_MS);
    const before = ssm.puts.length;
    await rotateCertificates(config, dependencies);
    return ssm.puts.length - before;
  } finally {
    ssm.restore();
  }
}
