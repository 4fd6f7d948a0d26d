// Checks an existing CA's certificate and key before an import writes anything, and converts the key to PKCS#8.

import { createPrivateKey, type KeyObject, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { splitPem } from './crypto.ts';
import { CertificateError } from './errors.ts';
import type { CertificatePair } from './issue.ts';

/** Node's name for P-256, the only curve the product signs with. */
const P256_CURVE = 'prime256v1';

/**
 * Checks that the key is an unencrypted P-256 EC key in PKCS#8 (`PRIVATE KEY`) or SEC1
 * (`EC PRIVATE KEY`) PEM, that the certificate contains a P-256 public key, and that the two match.
 * Returns the pair with the key as PKCS#8 PEM, the form the store keeps and the issuer imports.
 * Throws CertificateError, whose message never quotes the key.
 */
export function checkImportedCaKey(pair: CertificatePair): CertificatePair {
  const certPem = splitPem(pair.certPem)[0];
  if (certPem === undefined) {
    throw new CertificateError('format', 'the imported CA certificate contains no PEM certificate');
  }

  const certificate = parseCertificate(certPem);
  requireP256(certificate.publicKey, 'the imported CA certificate');
  const key = parsePrivateKey(pair.keyPem);
  requireP256(key, 'the imported CA key');
  if (!certificate.checkPrivateKey(key)) {
    throw new CertificateError('key-match', 'the imported CA key does not match the imported CA certificate');
  }

  return { certPem: pair.certPem, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function parseCertificate(pem: string): NodeX509Certificate {
  try {
    return new NodeX509Certificate(pem);
  } catch (error) {
    throw new CertificateError('format', 'the imported CA certificate is not a valid PEM certificate', {
      cause: error,
    });
  }
}

function parsePrivateKey(pem: string): KeyObject {
  const block = /-----BEGIN ([A-Z ]+)-----/.exec(pem)?.[1];
  if (block === 'ENCRYPTED PRIVATE KEY' || /Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw new CertificateError(
      'format',
      'the imported CA key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)',
    );
  }
  if (block !== 'PRIVATE KEY' && block !== 'EC PRIVATE KEY') {
    throw new CertificateError(
      'format',
      `the imported CA key must be PKCS#8 (PRIVATE KEY) or SEC1 (EC PRIVATE KEY) PEM; got ${block ? `a ${block} block` : 'no PEM block'}`,
    );
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The cause is left off on purpose: errors from key parsing can quote the key material.
    throw new CertificateError('format', `the imported CA key is not a valid ${block} PEM key`);
  }
}

function requireP256(key: KeyObject, label: string): void {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && curve === P256_CURVE) return;

  const found =
    key.asymmetricKeyType === 'ec' ? `EC curve ${curve ?? 'unnamed'}` : `key type ${key.asymmetricKeyType}`;
  throw new CertificateError(
    'format',
    `${label} must be a P-256 (prime256v1) EC key, because fleet-login signs only with P-256; got ${found}`,
  );
}
