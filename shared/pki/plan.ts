// The rotation rule: which step is due now, given the active certificates and the clock. No side effects.

import type { PkiConfig } from './config.ts';
import { x509 } from './crypto.ts';
import type { LeafRole } from './issue.ts';
import type { PkiState } from './state.ts';
import type { CertificateSlot, SsmCertificateStore } from './store.ts';

export type RotationStep =
  | { kind: 'bootstrap'; reason: string }
  | { kind: 'start-ca-rotation'; reason: string }
  | { kind: 'issue-from-next-ca'; reason: string }
  | { kind: 'drop-previous-ca'; reason: string }
  | { kind: 'renew-intermediate'; reason: string }
  | { kind: 'renew-leaf'; role: LeafRole; reason: string };

/** The active certificates, parsed. `intermediate` is set only when the pointer names one. */
export interface ActiveCertificates {
  state: PkiState;
  ca: x509.X509Certificate;
  intermediate: x509.X509Certificate | undefined;
  client: x509.X509Certificate;
  server: x509.X509Certificate;
}

/** One active certificate as the dry run and the expiry alert describe it. */
export interface CertificateSummary {
  slot: CertificateSlot;
  subject: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  renewAt: Date;
  renewalDue: boolean;
}

/** Reads and parses the certificates the pointer names, or returns undefined when the prefix is empty. */
export async function loadActiveCertificates(
  store: SsmCertificateStore,
): Promise<ActiveCertificates | undefined> {
  const state = await store.readState();
  if (state === undefined) return undefined;

  const read = async (slot: CertificateSlot, version: number) =>
    new x509.X509Certificate(await store.readCertificate(slot, version));
  const [ca, client, server, intermediate] = await Promise.all([
    read('ca', state.ca.cert),
    read('client', state.client.cert),
    read('server', state.server.cert),
    state.intermediate ? read('intermediate', state.intermediate.cert) : undefined,
  ]);
  return { state, ca, intermediate, client, server };
}

/** Returns when a certificate passes `fraction` of its lifetime: notBefore + fraction × (notAfter − notBefore). */
export function renewalTime(cert: x509.X509Certificate, fraction: number): Date {
  const start = cert.notBefore.getTime();
  return new Date(start + fraction * (cert.notAfter.getTime() - start));
}

/** Returns the first step due at `now`, or undefined when nothing is due. Steps run in this order. */
export function nextRotationStep(
  active: ActiveCertificates | undefined,
  config: PkiConfig,
  now: Date,
): RotationStep | undefined {
  if (active === undefined)
    return { kind: 'bootstrap', reason: 'the parameter prefix holds no certificates' };

  const caStep = nextCaStep(active, config, now);
  if (caStep) return caStep;

  const intermediateStep = nextIntermediateStep(active, config, now);
  if (intermediateStep) return intermediateStep;

  for (const role of ['server', 'client'] as const) {
    const reason = leafRenewalReason(active, role, config, now);
    if (reason) return { kind: 'renew-leaf', role, reason };
  }
  return undefined;
}

function nextCaStep(active: ActiveCertificates, config: PkiConfig, now: Date): RotationStep | undefined {
  const rotation = active.state.caRotation;
  if (rotation !== undefined) {
    const dueAt = Date.parse(rotation.since) + config.trustOverlapMs;
    if (now.getTime() < dueAt) return undefined;
    return rotation.phase === 'trust-published'
      ? {
          kind: 'issue-from-next-ca',
          reason: 'the trust bundle with both CAs has been out for the overlap period',
        }
      : {
          kind: 'drop-previous-ca',
          reason: 'the leaves from the new CA have been out for the overlap period',
        };
  }
  if (now >= renewalTime(active.ca, config.caRenewFraction)) {
    return { kind: 'start-ca-rotation', reason: 'the root CA passed its renewal point' };
  }
  return undefined;
}

function nextIntermediateStep(
  active: ActiveCertificates,
  config: PkiConfig,
  now: Date,
): RotationStep | undefined {
  const { intermediate } = active;
  if (!config.useIntermediate) {
    return intermediate ? { kind: 'renew-intermediate', reason: 'intermediates are turned off' } : undefined;
  }
  if (intermediate === undefined)
    return { kind: 'renew-intermediate', reason: 'intermediates are turned on' };
  if (!isIssuedBy(intermediate, active.ca)) {
    return { kind: 'renew-intermediate', reason: 'the intermediate was not issued by the current root CA' };
  }
  if (now >= renewalTime(intermediate, config.renewFraction)) {
    return { kind: 'renew-intermediate', reason: 'the intermediate passed its renewal point' };
  }
  return undefined;
}

function leafRenewalReason(
  active: ActiveCertificates,
  role: LeafRole,
  config: PkiConfig,
  now: Date,
): string | undefined {
  const leaf = active[role];
  const issuer = active.intermediate ?? active.ca;
  if (!isIssuedBy(leaf, issuer)) return `the ${role} certificate was not issued by the current issuing CA`;
  if (now >= renewalTime(leaf, config.renewFraction))
    return `the ${role} certificate passed its renewal point`;
  return undefined;
}

/** Compares the issuer name and, when both are present, the authority and subject key identifiers. */
export function isIssuedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): boolean {
  if (cert.issuer !== issuer.subject) return false;
  const authorityKeyId = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  const subjectKeyId = issuer.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  return authorityKeyId === undefined || subjectKeyId === undefined || authorityKeyId === subjectKeyId;
}

/** Describes every active certificate with its renewal time, for the dry run and the expiry alert. */
export function summarizeCertificates(
  active: ActiveCertificates,
  config: PkiConfig,
  now: Date,
): CertificateSummary[] {
  const entries: [CertificateSlot, x509.X509Certificate, number][] = [
    ['ca', active.ca, config.caRenewFraction],
    ['server', active.server, config.renewFraction],
    ['client', active.client, config.renewFraction],
  ];
  if (active.intermediate) entries.splice(1, 0, ['intermediate', active.intermediate, config.renewFraction]);

  return entries.map(([slot, cert, fraction]) => {
    const renewAt = renewalTime(cert, fraction);
    return {
      slot,
      subject: cert.subject,
      serialNumber: cert.serialNumber,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      renewAt,
      renewalDue: now >= renewAt,
    };
  });
}
