// Checks a certificate and key must pass before they are stored or installed.

import { createPrivateKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { splitPem, x509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import type { CertificatePair } from './issue.ts';

/** Intended use a certificate is checked against: a leaf's extended key usage, or CA constraints. */
export type CertificateUsage = 'client' | 'server' | 'ca';

export interface PairCheckRequest {
  /** Name of the pair in error messages, such as "client certificate". */
  label: string;
  pair: CertificatePair;
  /** PEM trust anchors (the trust bundle) the chain must end in. */
  anchorsPem: string;
  usage: CertificateUsage;
  now: Date;
  maxLifetimeMs: number;
}

/**
 * Checks that the key matches the certificate, that the chain verifies up to one of the anchors, that every
 * certificate in it is valid at `now`, and that the leaf's lifetime and usage fit. Throws CertificateError.
 */
export async function checkCertificatePair(request: PairCheckRequest): Promise<x509.X509Certificate> {
  const chain = parseCertificates(request.pair.certPem, request.label);
  const anchors = parseCertificates(request.anchorsPem, `trust bundle for the ${request.label}`);
  const leaf = chain[0] as x509.X509Certificate;

  checkKeyMatches(request);
  const path = await buildPath(leaf, chain.slice(1), anchors, request.label);
  checkValidity(path, request);
  checkUsage(leaf, path, request);
  return leaf;
}

/** Parses every PEM block of `text`. Throws when there is none or one is not a certificate. */
export function parseCertificates(text: string, label: string): x509.X509Certificate[] {
  const blocks = splitPem(text);
  if (blocks.length === 0) throw new CertificateError('format', `${label} contains no PEM certificate`);
  try {
    return blocks.map((block) => new x509.X509Certificate(block));
  } catch (error) {
    throw new CertificateError('format', `${label} is not a valid PEM certificate`, { cause: error });
  }
}

function checkKeyMatches(request: PairCheckRequest): void {
  const leafPem = splitPem(request.pair.certPem)[0] as string;
  let matches: boolean;
  try {
    matches = new NodeX509Certificate(leafPem).checkPrivateKey(createPrivateKey(request.pair.keyPem));
  } catch {
    // The cause is left off on purpose: errors from key parsing can quote the key material.
    throw new CertificateError('format', `the private key of the ${request.label} is not a valid PEM key`);
  }
  if (!matches) {
    throw new CertificateError('key-match', `the private key does not match the ${request.label}`);
  }
}

/** Returns the path from the leaf to an anchor, each signature verified, or throws. */
async function buildPath(
  leaf: x509.X509Certificate,
  intermediates: x509.X509Certificate[],
  anchors: x509.X509Certificate[],
  label: string,
): Promise<x509.X509Certificate[]> {
  const builder = new x509.X509ChainBuilder({ certificates: [...intermediates, ...anchors] });
  let path: x509.X509Certificate[];
  try {
    path = [...(await builder.build(leaf))];
  } catch (error) {
    throw new CertificateError('chain', `the chain of the ${label} cannot be built`, { cause: error });
  }

  const top = path[path.length - 1] as x509.X509Certificate;
  const anchored = anchors.some((anchor) => anchor.equal(top));
  if (!anchored) {
    throw new CertificateError(
      'chain',
      `the ${label} (issuer ${leaf.issuer}) does not chain to the trust bundle`,
    );
  }
  return path;
}

function checkValidity(path: x509.X509Certificate[], request: PairCheckRequest): void {
  const now = request.now.getTime();
  for (const cert of path) {
    if (cert.notBefore.getTime() > now || cert.notAfter.getTime() <= now) {
      throw new CertificateError(
        'validity',
        `${cert.subject} in the chain of the ${request.label} is not valid now ` +
          `(valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
      );
    }
  }

  const leaf = path[0] as x509.X509Certificate;
  const lifetimeMs = leaf.notAfter.getTime() - leaf.notBefore.getTime();
  if (lifetimeMs > request.maxLifetimeMs) {
    throw new CertificateError(
      'validity',
      `the ${request.label} lifetime of ${lifetimeMs} ms exceeds the maximum`,
    );
  }
  for (const issuer of path.slice(1)) {
    if (leaf.notAfter.getTime() > issuer.notAfter.getTime()) {
      throw new CertificateError('validity', `the ${request.label} outlives its issuer ${issuer.subject}`);
    }
  }
}

function checkUsage(
  leaf: x509.X509Certificate,
  path: x509.X509Certificate[],
  request: PairCheckRequest,
): void {
  for (const issuer of path.slice(1)) {
    if (!isCa(issuer))
      throw new CertificateError('usage', `${issuer.subject} signed the ${request.label} but is no CA`);
  }
  if (request.usage === 'ca') {
    if (!isCa(leaf)) throw new CertificateError('usage', `the ${request.label} is not a CA certificate`);
    return;
  }

  if (isCa(leaf)) throw new CertificateError('usage', `the ${request.label} is a CA certificate, not a leaf`);
  const wanted =
    request.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
  const extendedUsage = leaf.getExtension(x509.ExtendedKeyUsageExtension);
  if (!extendedUsage?.usages.includes(wanted)) {
    throw new CertificateError(
      'usage',
      `the ${request.label} lacks the ${request.usage}Auth extended key usage`,
    );
  }
}

function isCa(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}
