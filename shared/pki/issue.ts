// Issuance of the LDAP link's CA, optional intermediate and leaf certificates (ECDSA P-256, SHA-256).

import { isIP } from 'node:net';
import {
  exportPrivateKeyPem,
  generateKeyPair,
  importSigningKey,
  joinPem,
  randomSerialNumber,
  SIGNING_ALGORITHM,
  splitPem,
  x509,
} from './crypto.ts';
import { CertificateError } from './errors.ts';

/** A certificate with its private key. For a leaf, `certPem` is the chain: the leaf, then intermediates. */
export interface CertificatePair {
  certPem: string;
  keyPem: string;
}

/** Role of a leaf: `client` gets clientAuth (the Lambdas), `server` gets serverAuth (slapd). */
export type LeafRole = 'client' | 'server';

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

export interface LeafRequest extends ValidityWindow {
  role: LeafRole;
  commonName: string;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  /** The issuing CA: the root, or the intermediate whose certificate then follows the leaf in the chain. */
  issuer: CertificatePair;
}

/** Function that issues a leaf certificate, injected so tests can hand the rotation a bad certificate. */
export type LeafIssuer = (request: LeafRequest) => Promise<CertificatePair>;

/** Creates a self-signed root CA that may sign one level of intermediate below it. */
export async function createRootCa(commonName: string, window: ValidityWindow): Promise<CertificatePair> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: [{ CN: [commonName] }],
    notBefore: window.notBefore,
    notAfter: window.notAfter,
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

/** Issues an intermediate CA under `issuer` that may sign leaves only. */
export async function issueIntermediateCa(
  commonName: string,
  window: ValidityWindow,
  issuer: CertificatePair,
): Promise<CertificatePair> {
  const extensions = [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
  ];
  return signCertificate(commonName, window, issuer, extensions);
}

/** Issues a client or server leaf. A server leaf carries the DNS and IP names clients connect to. */
export const issueLeaf: LeafIssuer = async (request) => {
  const usage =
    request.role === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
  ];
  const altNames = subjectAltNames(request);
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));
  return signCertificate(request.commonName, request, request.issuer, extensions);
};

/** Signs a new key's certificate with `issuer`, adding the key identifiers and the chain above the issuer. */
async function signCertificate(
  commonName: string,
  window: ValidityWindow,
  issuer: CertificatePair,
  extensions: x509.Extension[],
): Promise<CertificatePair> {
  const issuerChain = splitPem(issuer.certPem);
  const issuerPem = issuerChain[0];
  if (issuerPem === undefined)
    throw new CertificateError('format', 'the issuing CA certificate has no PEM block');
  const issuerCert = new x509.X509Certificate(issuerPem);
  const keys = await generateKeyPair();

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: [{ CN: [commonName] }],
    issuer: issuerCert.subject,
    notBefore: window.notBefore,
    notAfter: window.notAfter,
    publicKey: keys.publicKey,
    signingKey: await importSigningKey(issuer.keyPem),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert),
    ],
  });

  // A root is the trust anchor and is never sent. An intermediate issuer follows the new certificate.
  const selfSigned = await issuerCert.isSelfSigned();
  const chain = selfSigned ? [cert.toString('pem')] : [cert.toString('pem'), ...issuerChain];
  return { certPem: joinPem(chain), keyPem: await exportPrivateKeyPem(keys.privateKey) };
}

function subjectAltNames(request: LeafRequest): x509.JsonGeneralName[] {
  const dns = request.dnsNames.map((value) => ({ type: 'dns' as const, value }));
  const ips = request.ipAddresses.map((value) => {
    if (isIP(value) === 0)
      throw new CertificateError('format', `SAN IP address ${value} is not an IP address`);
    return { type: 'ip' as const, value };
  });
  return [...dns, ...ips];
}
