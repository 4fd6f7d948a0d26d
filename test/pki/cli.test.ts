import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRotateCertsHandler } from '../../functions/rotate-certs.ts';
import { runInstallCli } from '../../scripts/install-ldap-server-cert.ts';
import { runRotateCertsCli } from '../../scripts/rotate-certs.ts';
import { createRootCa } from '../../shared/pki/issue.ts';
import { rotateCertificates } from '../../shared/pki/rotate.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { collectAlerts, DAY_MS, FakeSsm, TestClock, testConfig } from './helpers.ts';

const ENV = {
  PKI_PARAMETER_PREFIX: '/test/pki',
  PKI_SERVER_DNS_NAMES: 'localhost',
  PKI_SERVER_IP_ADDRESSES: '127.0.0.1',
};

describe('rotate-certs CLI', () => {
  let ssm: FakeSsm;
  let clock: TestClock;
  let stdout: string;
  let stderr: string;

  beforeEach(() => {
    ssm = new FakeSsm();
    clock = new TestClock(new Date('2027-01-01T00:00:00Z'));
    stdout = '';
    stderr = '';
  });

  afterEach(() => ssm.restore());

  const run = (args: string[], env: NodeJS.ProcessEnv = ENV) =>
    runRotateCertsCli(args, {
      env,
      ssm: ssm.client,
      now: clock.now,
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
    });

  it('dry run of an empty prefix', async () => {
    expect(await run(['--dry-run'])).toBe(0);

    expect(stdout).toContain('No active certificates');
    expect(ssm.puts).toEqual([]);
  });

  it('dry run lists expiry and renewal', async () => {
    expect(await run([])).toBe(0);
    expect(stdout).toContain('bootstrap');
    stdout = '';
    clock.advance(61 * DAY_MS);
    const puts = ssm.puts.length;

    expect(await run(['--dry-run'])).toBe(0);

    const lines = stdout.split('\n');
    expect(lines.find((line) => line.startsWith('server'))).toMatch(
      /2027-04-01T00:00:00\.000Z\s+29\s+2027-03-01T23:58:20\.000Z\s+yes$/,
    );
    expect(lines.find((line) => line.startsWith('ca'))).toMatch(/\s+no$/);
    expect(stdout).toContain('A run now would start with: renew-leaf');
    expect(ssm.puts.length).toBe(puts);
  });

  it('dry run shows the CA rotation phase', async () => {
    const env = { ...ENV, PKI_CA_LIFETIME_DAYS: '300', PKI_LEAF_LIFETIME_DAYS: '60' };
    await run([], env);
    clock.advance(201 * DAY_MS);
    await run([], env);
    stdout = '';

    expect(await run(['--dry-run'], env)).toBe(0);

    expect(stdout).toContain('CA rotation in phase trust-published since 2027-07-21T00:00:00.000Z');
    expect(stdout).toContain('due at 2027-07-22T00:00:00.000Z');
    expect(stdout).toContain('A run now would change nothing.');
  });

  it('imports an existing CA from files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-login-pki-cli-'));
    try {
      const ca = await createRootCa('imported CA', {
        notBefore: clock.now(),
        notAfter: new Date(clock.now().getTime() + 900 * DAY_MS),
      });
      await writeFile(join(dir, 'ca.pem'), ca.certPem);
      await writeFile(join(dir, 'ca.key'), ca.keyPem, { mode: 0o600 });

      expect(await run(['--import-ca', join(dir, 'ca.pem'), '--import-ca-key', join(dir, 'ca.key')])).toBe(0);
      stdout = '';
      await run(['--dry-run']);
      expect(stdout).toContain('CN=imported CA');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [['--import-ca', 'ca.pem'], '--import-ca and --import-ca-key must be given together'],
    [['--bogus'], "Unknown option '--bogus'"],
    [['--dry-run', '--import-ca', 'a', '--import-ca-key', 'b'], '--dry-run cannot be combined'],
  ])('rejects the arguments %j with usage', async (args, message) => {
    expect(await run(args)).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage:');
  });

  it('exits 1 naming an invalid variable', async () => {
    expect(await run(['--dry-run'], { PKI_PARAMETER_PREFIX: '/test/pki' })).toBe(1);
    expect(stderr).toContain('PKI_SERVER_DNS_NAMES');
  });
});

describe('install-ldap-server-cert CLI', () => {
  it('installs files and reloads once', async () => {
    const ssm = new FakeSsm();
    const dir = await mkdtemp(join(tmpdir(), 'fleet-login-pki-install-cli-'));
    try {
      const store = new SsmCertificateStore(ssm.client, '/test/pki');
      await rotateCertificates(testConfig(), { store, alerter: collectAlerts() });
      const output: string[] = [];
      const args = [
        ...[
          '--cert-file',
          join(dir, 'server.pem'),
          '--key-file',
          join(dir, 'server.key'),
          '--ca-file',
          join(dir, 'ca.pem'),
        ],
        ...['--prefix', '/test/pki', '--reload-command', `echo reloaded >> ${join(dir, 'reloads')}`],
      ];
      const context = {
        env: {},
        ssm: ssm.client,
        stdout: (text: string) => void output.push(text),
        stderr: (text: string) => void output.push(text),
      };

      expect(await runInstallCli(args, context)).toBe(0);
      expect(await runInstallCli(args, context)).toBe(0);

      expect(output[0]).toContain('ran the reload command');
      expect(output[1]).toBe('All files were current.\n');
      expect(await readFile(join(dir, 'reloads'), 'utf8')).toBe('reloaded\n');
    } finally {
      ssm.restore();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with usage when a file argument is missing', async () => {
    const output: string[] = [];
    const context = {
      env: {},
      stdout: (text: string) => void output.push(text),
      stderr: (text: string) => void output.push(text),
    };

    expect(await runInstallCli(['--cert-file', 'a'], context)).toBe(2);
    expect(output.join('')).toContain('--cert-file, --key-file and --ca-file are required');
  });
});

describe('rotate-certs Lambda handler', () => {
  const context = { functionName: 'rotate-certs', awsRequestId: 'test-request' } as Context;

  it('returns the steps and the certificates after a run', async () => {
    const ssm = new FakeSsm();
    try {
      const collected = collectAlerts();
      const setup = {
        config: testConfig(),
        store: new SsmCertificateStore(ssm.client, '/test/pki'),
        alerter: collected,
      };
      const handler = createRotateCertsHandler(() => setup);

      const result = await handler({}, context);

      expect(result.steps).toEqual(['bootstrap']);
      expect(result.certificates.map((certificate) => certificate.slot)).toEqual(['ca', 'server', 'client']);
      expect(collected.alerts.map((alert) => alert.severity)).toEqual(['info']);
    } finally {
      ssm.restore();
    }
  });

  it('rethrows a failure after alerting', async () => {
    const ssm = new FakeSsm();
    try {
      const collected = collectAlerts();
      const setup = {
        config: testConfig(),
        store: new SsmCertificateStore(ssm.client, '/test/pki'),
        alerter: collected,
      };
      ssm.crashAtPut = 1;
      const handler = createRotateCertsHandler(() => setup);

      await expect(handler({}, context)).rejects.toThrow('writing SSM parameter /test/pki/ca/key failed');
      expect(collected.alerts.map((alert) => alert.severity)).toEqual(['critical']);
    } finally {
      ssm.restore();
    }
  });
});
