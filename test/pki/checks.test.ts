import { beforeAll, describe, expect, it } from 'vitest';
import { checkCertificatePair, parseCertificates } from '../../shared/pki/checks.ts';
import { x509 } from '../../shared/pki/crypto.ts';
import { CertificateError } from '../../shared/pki/errors.ts';
import {
  type CertificatePair,
  createRootCa,
  issueIntermediateCa,
  issueLeaf,
  type LeafRequest,
} from '../../shared/pki/issue.ts';
import { DAY_MS } from './helpers.ts';

const now = new Date();
const year = {
  notBefore: new Date(now.getTime() - DAY_MS),
  notAfter: new Date(now.getTime() + 365 * DAY_MS),
};
const maxLifetimeMs = 400 * DAY_MS;

function leafRequest(issuer: CertificatePair, overrides: Partial<LeafRequest> = {}): LeafRequest {
  return {
    role: 'server',
    commonName: 'ldap.test',
    dnsNames: ['ldap.test'],
    ipAddresses: ['127.0.0.1'],
    issuer,
    notBefore: year.notBefore,
    notAfter: new Date(now.getTime() + 30 * DAY_MS),
    ...overrides,
  };
}

async function checkError(promise: Promise<unknown>): Promise<CertificateError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CertificateError);
  return error as CertificateError;
}

describe('checkCertificatePair', () => {
  let ca: CertificatePair;
  let otherCa: CertificatePair;
  let server: CertificatePair;

  beforeAll(async () => {
    ca = await createRootCa('checks CA', year);
    otherCa = await createRootCa('checks other CA', year);
    server = await issueLeaf(leafRequest(ca));
  });

  it('accepts a server leaf issued by the anchor', async () => {
    const leaf = await checkCertificatePair({
      label: 'server certificate',
      pair: server,
      anchorsPem: ca.certPem,
      usage: 'server',
      now,
      maxLifetimeMs,
    });
    expect(leaf.subject).toBe('CN=ldap.test');
  });

  it('accepts a chain through an intermediate', async () => {
    const intermediate = await issueIntermediateCa('checks intermediate', year, ca);
    const client = await issueLeaf(
      leafRequest(intermediate, { role: 'client', dnsNames: [], ipAddresses: [] }),
    );
    expect(parseCertificates(client.certPem, 'client')).toHaveLength(2);
    await checkCertificatePair({
      label: 'client',
      pair: client,
      anchorsPem: ca.certPem,
      usage: 'client',
      now,
      maxLifetimeMs,
    });
  });

  it('rejects a key that does not match', async () => {
    const other = await issueLeaf(leafRequest(ca));
    const pair = { certPem: server.certPem, keyPem: other.keyPem };
    const error = await checkError(
      checkCertificatePair({
        label: 'server certificate',
        pair,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('key-match');
    expect(error.message).not.toContain('PRIVATE KEY');
  });

  it('rejects a key that is not PEM without quoting it', async () => {
    const pair = { certPem: server.certPem, keyPem: 'not-a-key-secret-value' };
    const error = await checkError(
      checkCertificatePair({
        label: 'server certificate',
        pair,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('format');
    expect(error.message).not.toContain('secret-value');
    expect(error.cause).toBeUndefined();
  });

  it('rejects a leaf from another CA', async () => {
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair: server,
        anchorsPem: otherCa.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('chain');
  });

  it('rejects a self-signed leaf', async () => {
    const selfSigned = await createRootCa('self', year);
    const error = await checkError(
      checkCertificatePair({
        label: 'client',
        pair: selfSigned,
        anchorsPem: ca.certPem,
        usage: 'client',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('chain');
  });

  it('rejects an expired leaf', async () => {
    const expired = await issueLeaf(
      leafRequest(ca, {
        notBefore: new Date(now.getTime() - 20 * DAY_MS),
        notAfter: new Date(now.getTime() - DAY_MS),
      }),
    );
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair: expired,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('validity');
  });

  it('rejects a leaf that is not valid yet', async () => {
    const future = await issueLeaf(leafRequest(ca, { notBefore: new Date(now.getTime() + DAY_MS) }));
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair: future,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('validity');
  });

  it('rejects a leaf longer-lived than the maximum', async () => {
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair: server,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs: DAY_MS,
      }),
    );
    expect(error.check).toBe('validity');
  });

  it('rejects a leaf that outlives its issuer', async () => {
    const long = await issueLeaf(leafRequest(ca, { notAfter: new Date(year.notAfter.getTime() + DAY_MS) }));
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair: long,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('validity');
    expect(error.message).toContain('outlives');
  });

  it('rejects a server leaf used as a client certificate', async () => {
    const error = await checkError(
      checkCertificatePair({
        label: 'client',
        pair: server,
        anchorsPem: ca.certPem,
        usage: 'client',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('usage');
  });

  it('rejects a leaf passed where a CA is expected', async () => {
    const error = await checkError(
      checkCertificatePair({
        label: 'CA',
        pair: server,
        anchorsPem: ca.certPem,
        usage: 'ca',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('usage');
  });

  it('rejects text with no certificate', async () => {
    const pair = { certPem: 'garbage', keyPem: server.keyPem };
    const error = await checkError(
      checkCertificatePair({
        label: 'server',
        pair,
        anchorsPem: ca.certPem,
        usage: 'server',
        now,
        maxLifetimeMs,
      }),
    );
    expect(error.check).toBe('format');
  });
});

describe('issueLeaf', () => {
  it('writes names and usage into a server leaf', async () => {
    const ca = await createRootCa('issue CA', year);
    const pair = await issueLeaf(
      leafRequest(ca, { dnsNames: ['ldap.test', 'ldap2.test'], ipAddresses: ['127.0.0.1', '::1'] }),
    );
    const cert = new x509.X509Certificate(pair.certPem);

    const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
    expect(names).toEqual([
      { type: 'dns', value: 'ldap.test' },
      { type: 'dns', value: 'ldap2.test' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
    ]);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
    ]);
    expect(cert.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    expect(cert.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(BigInt(`0x${cert.serialNumber}`)).toBeGreaterThan(2n ** 64n);
  });

  it('rejects a SAN IP address that is not an IP address', async () => {
    const ca = await createRootCa('issue CA', year);
    const error = await checkError(issueLeaf(leafRequest(ca, { ipAddresses: ['ldap.test'] })));
    expect(error.check).toBe('format');
  });
});
