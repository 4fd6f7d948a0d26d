import { createPrivateKey, webcrypto } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkImportedCaKey } from '../../shared/pki/ca-import.ts';
import { x509 } from '../../shared/pki/crypto.ts';
import { CertificateError } from '../../shared/pki/errors.ts';
import { type CertificatePair, createRootCa } from '../../shared/pki/issue.ts';
import { loadActiveCertificates } from '../../shared/pki/plan.ts';
import { importCa } from '../../shared/pki/rotate.ts';
import { SsmCertificateStore } from '../../shared/pki/store.ts';
import { collectAlerts, DAY_MS, FakeSsm, TestClock, testConfig } from './helpers.ts';

const START = new Date('2027-01-01T00:00:00Z');
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const WINDOW = { notBefore: START, notAfter: new Date(START.getTime() + 900 * DAY_MS) };

/** Creates a self-signed CA with a key other than P-256, to check that an import rejects it. */
async function createOtherCa(
  algorithm: webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams,
  signingAlgorithm: webcrypto.Algorithm,
): Promise<CertificatePair> {
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=other key CA',
    ...WINDOW,
    keys,
    signingAlgorithm,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem'), keyPem: x509.PemConverter.encode(der, 'PRIVATE KEY') };
}

function toSec1(keyPem: string): string {
  return createPrivateKey(keyPem).export({ type: 'sec1', format: 'pem' }).toString();
}

describe('importCa key checks', () => {
  let ssm: FakeSsm;
  let store: SsmCertificateStore;
  let clock: TestClock;

  beforeEach(() => {
    ssm = new FakeSsm();
    store = new SsmCertificateStore(ssm.client, '/test/pki');
    clock = new TestClock(START);
  });

  afterEach(() => ssm.restore());

  const runImport = (ca: CertificatePair) =>
    importCa(testConfig(), { store, alerter: collectAlerts(), now: clock.now }, ca);

  it('imports a SEC1 key and stores it as PKCS#8', async () => {
    const ca = await createRootCa('sec1 CA', WINDOW);

    await runImport({ ...ca, keyPem: toSec1(ca.keyPem) });

    const active = await loadActiveCertificates(store);
    const state = await store.readState();
    if (state === undefined) throw new Error('import wrote no state');
    const stored = await store.readPair('ca', state.ca);
    expect(active?.server.issuer).toBe('CN=sec1 CA');
    expect(stored.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(createPrivateKey(stored.keyPem).equals(createPrivateKey(ca.keyPem))).toBe(true);
  });

  it.each([
    ['an RSA key', RSA, { name: 'RSASSA-PKCS1-v1_5' }, 'got key type rsa'],
    [
      'a P-384 key',
      { name: 'ECDSA', namedCurve: 'P-384' },
      { name: 'ECDSA', hash: 'SHA-384' },
      'got EC curve secp384r1',
    ],
  ])('rejects %s before writing', async (_name, algorithm, signing, found) => {
    const ca = await createOtherCa(algorithm, signing);

    await expect(runImport(ca)).rejects.toThrow(CertificateError);
    await expect(runImport(ca)).rejects.toThrow('must be a P-256 (prime256v1) EC key');
    await expect(runImport(ca)).rejects.toThrow(found);
    expect(ssm.puts).toEqual([]);
  });

  it('rejects a PKCS#1 RSA key before writing', async () => {
    const ca = await createRootCa('import CA', WINDOW);
    const rsa = await createOtherCa(RSA, { name: 'RSASSA-PKCS1-v1_5' });
    const pkcs1 = createPrivateKey(rsa.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();

    await expect(runImport({ ...ca, keyPem: pkcs1 })).rejects.toThrow('got a RSA PRIVATE KEY block');
    expect(ssm.puts).toEqual([]);
  });

  it('rejects a SEC1 key of another CA before writing', async () => {
    const ca = await createRootCa('import CA', WINDOW);
    const other = await createRootCa('other CA', WINDOW);

    await expect(runImport({ ...ca, keyPem: toSec1(other.keyPem) })).rejects.toMatchObject({
      check: 'key-match',
    });
    expect(ssm.puts).toEqual([]);
  });

  it.each([
    ['an encrypted key', encryptedKey, 'is encrypted; decrypt it first'],
    ['a certificate as key', (ca: CertificatePair) => ca.certPem, 'got a CERTIFICATE block'],
    ['text without PEM', () => 'not a key', 'got no PEM block'],
    [
      'a damaged SEC1 key',
      (ca: CertificatePair) => toSec1(ca.keyPem).replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA'),
      'is not a valid EC PRIVATE KEY PEM key',
    ],
  ])('rejects %s before writing', async (_name, makeKey, message) => {
    const ca = await createRootCa('import CA', WINDOW);

    await expect(runImport({ ...ca, keyPem: makeKey(ca) })).rejects.toThrow(message);
    expect(ssm.puts).toEqual([]);
  });

  it('keeps the key out of error messages', async () => {
    const ca = await createRootCa('import CA', WINDOW);
    const damaged = toSec1(ca.keyPem).replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA');

    const error = (() => {
      try {
        checkImportedCaKey({ ...ca, keyPem: damaged });
      } catch (caught) {
        return caught as Error;
      }
      throw new Error('the damaged key was accepted');
    })();

    const body = damaged.split('\n').slice(1, -2).join('');
    expect(error.message).not.toContain(body.slice(0, 16));
    expect(error.cause).toBeUndefined();
  });
});

function encryptedKey(ca: CertificatePair): string {
  return createPrivateKey(ca.keyPem)
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'test passphrase' })
    .toString();
}
