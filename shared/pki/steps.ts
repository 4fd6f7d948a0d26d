// The rotation steps. Each stores new versions first and moves the active pointer last, so a crash leaves
// the pointer on the previous, complete set and the next run repeats the step.

import { FleetLoginError } from '../errors.ts';
import { checkCertificatePair } from './checks.ts';
import type { PkiConfig } from './config.ts';
import { joinPem, randomSerialNumber, splitPem, x509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import {
  type CertificatePair,
  createRootCa,
  issueIntermediateCa,
  type LeafIssuer,
  type LeafRole,
  type ValidityWindow,
} from './issue.ts';
import type { PkiState, VersionRef } from './state.ts';
import type { SsmCertificateStore } from './store.ts';

/** New certificates start this far in the past, so a verifier whose clock lags a little accepts them at once. */
export const BACKDATE_MS = 5 * 60 * 1000;

export interface StepContext {
  store: SsmCertificateStore;
  config: PkiConfig;
  now: Date;
  issueLeaf: LeafIssuer;
}

/** Creates (or takes the imported) root CA, the optional intermediate and both leaves on an empty prefix. */
export async function bootstrap(context: StepContext, importedCa?: CertificatePair): Promise<PkiState> {
  const { store, config, now } = context;
  const ca = importedCa ?? (await createRootCa(newCaName(config, now), validity(now, config.caLifetimeMs)));
  const caLifetimeMs = importedCa ? Number.POSITIVE_INFINITY : config.caLifetimeMs + BACKDATE_MS;
  const caPem = onlyCertificate(ca.certPem);
  await checkCertificatePair({
    label: 'root CA certificate',
    pair: ca,
    anchorsPem: caPem,
    usage: 'ca',
    now,
    maxLifetimeMs: caLifetimeMs,
  });

  const caRef = await store.putPair('ca', ca);
  const trustBundle = await store.putTrustBundle(caPem);
  const issued = await issueFromCa(context, ca);
  return writeState(context, { ...issued, ca: caRef, trustBundle, caRotation: undefined });
}

/** Issues a new leaf for `role` from the current issuing CA and makes it active. */
export async function renewLeaf(context: StepContext, state: PkiState, role: LeafRole): Promise<PkiState> {
  const { store } = context;
  const issuer = state.intermediate
    ? await store.readPair('intermediate', state.intermediate)
    : await store.readPair('ca', state.ca);
  const anchorsPem = await store.readTrustBundle(state.trustBundle);

  const leaf = await issueCheckedLeaf(context, role, issuer, anchorsPem);
  const ref = await store.putPair(role, leaf);
  return writeState(context, { ...state, [role]: ref });
}

/** Issues a new intermediate from the root CA, or removes it when intermediates are turned off. */
export async function renewIntermediate(context: StepContext, state: PkiState): Promise<PkiState> {
  // The leaves keep their chain (leaf + old intermediate) and are reissued as the next steps.
  if (!context.config.useIntermediate) return writeState(context, { ...state, intermediate: undefined });

  const root = await context.store.readPair('ca', state.ca);
  const anchorsPem = await context.store.readTrustBundle(state.trustBundle);
  const intermediate = await issueCheckedIntermediate(context, root, anchorsPem);
  const ref = await context.store.putPair('intermediate', intermediate);
  return writeState(context, { ...state, intermediate: ref });
}

/** CA rotation, first step: creates the next CA and publishes a trust bundle with both CAs. */
export async function startCaRotation(context: StepContext, state: PkiState): Promise<PkiState> {
  const { store, config, now } = context;
  const currentPem = await store.readCertificate('ca', state.ca.cert);
  const next = await createRootCa(newCaName(config, now), validity(now, config.caLifetimeMs));
  const nextPem = onlyCertificate(next.certPem);
  await checkCertificatePair({
    label: 'next root CA certificate',
    pair: next,
    anchorsPem: nextPem,
    usage: 'ca',
    now,
    maxLifetimeMs: config.caLifetimeMs + BACKDATE_MS,
  });

  const nextCa = await store.putPair('ca', next);
  const trustBundle = await store.putTrustBundle(joinPem([currentPem, nextPem]));
  const since = now.toISOString();
  return writeState(context, {
    ...state,
    trustBundle,
    caRotation: { phase: 'trust-published', nextCa, since },
  });
}

/** CA rotation, second step: issues the intermediate and leaves from the next CA and makes it current. */
export async function issueFromNextCa(context: StepContext, state: PkiState): Promise<PkiState> {
  const rotation = state.caRotation;
  if (rotation?.phase !== 'trust-published') {
    throw new FleetLoginError('issuing from the next CA needs a CA rotation in the trust-published phase');
  }

  const nextCa = await context.store.readPair('ca', rotation.nextCa);
  const issued = await issueFromCa(context, nextCa);
  const since = context.now.toISOString();
  return writeState(context, {
    ...state,
    ...issued,
    ca: rotation.nextCa,
    caRotation: { phase: 'leaves-issued', previousCa: state.ca, since },
  });
}

/** CA rotation, last step: publishes a trust bundle with the current CA only, once every leaf chains to it. */
export async function dropPreviousCa(context: StepContext, state: PkiState): Promise<PkiState> {
  const { store, now, config } = context;
  const caPem = await store.readCertificate('ca', state.ca.cert);
  const leaves: [LeafRole, VersionRef][] = [
    ['client', state.client],
    ['server', state.server],
  ];
  for (const [role, ref] of leaves) {
    const pair = await store.readPair(role, ref);
    const maxLifetimeMs = config.leafLifetimeMs + BACKDATE_MS;
    const label = `${role} certificate`;
    await checkCertificatePair({ label, pair, anchorsPem: caPem, usage: role, now, maxLifetimeMs });
  }

  const trustBundle = await store.putTrustBundle(caPem);
  return writeState(context, { ...state, trustBundle, caRotation: undefined });
}

/** Issues the optional intermediate and both leaves under `ca`, checked against `ca` alone, and stores them. */
async function issueFromCa(context: StepContext, ca: CertificatePair) {
  const { store, config } = context;
  const caPem = onlyCertificate(ca.certPem);
  let issuer = ca;
  let intermediate: VersionRef | undefined;
  if (config.useIntermediate) {
    issuer = await issueCheckedIntermediate(context, ca, caPem);
    intermediate = await store.putPair('intermediate', issuer);
  }

  const client = await store.putPair('client', await issueCheckedLeaf(context, 'client', issuer, caPem));
  const server = await store.putPair('server', await issueCheckedLeaf(context, 'server', issuer, caPem));
  return { intermediate, client, server };
}

async function issueCheckedIntermediate(
  context: StepContext,
  root: CertificatePair,
  anchorsPem: string,
): Promise<CertificatePair> {
  const { config, now } = context;
  const window = validity(now, config.intermediateLifetimeMs, root.certPem);
  const intermediate = await issueIntermediateCa(
    `${config.caCommonName} intermediate ${shortId()}`,
    window,
    root,
  );
  await checkCertificatePair({
    label: 'intermediate CA certificate',
    pair: intermediate,
    anchorsPem,
    usage: 'ca',
    now,
    maxLifetimeMs: config.intermediateLifetimeMs + BACKDATE_MS,
  });
  return intermediate;
}

async function issueCheckedLeaf(
  context: StepContext,
  role: LeafRole,
  issuer: CertificatePair,
  anchorsPem: string,
): Promise<CertificatePair> {
  const { config, now } = context;
  const server = role === 'server';
  const leaf = await context.issueLeaf({
    role,
    commonName: server ? config.serverCommonName : config.clientCommonName,
    dnsNames: server ? config.serverDnsNames : [],
    ipAddresses: server ? config.serverIpAddresses : [],
    issuer,
    ...validity(now, config.leafLifetimeMs, issuer.certPem),
  });
  const maxLifetimeMs = config.leafLifetimeMs + BACKDATE_MS;
  await checkCertificatePair({
    label: `${role} certificate`,
    pair: leaf,
    anchorsPem,
    usage: role,
    now,
    maxLifetimeMs,
  });
  return leaf;
}

async function writeState(
  context: StepContext,
  fields: Omit<PkiState, 'schema' | 'updatedAt'>,
): Promise<PkiState> {
  const state: PkiState = { schema: 1, ...fields, updatedAt: context.now.toISOString() };
  await context.store.writeState(state);
  return state;
}

/** Returns a window from `now` (backdated) for `lifetimeMs`, cut at the issuer's expiry when one is given. */
function validity(now: Date, lifetimeMs: number, issuerPem?: string): ValidityWindow {
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  let notAfter = new Date(now.getTime() + lifetimeMs);
  if (issuerPem !== undefined) {
    const issuerNotAfter = new x509.X509Certificate(onlyCertificate(issuerPem)).notAfter;
    if (issuerNotAfter < notAfter) notAfter = issuerNotAfter;
  }
  return { notBefore, notAfter };
}

/** Returns a CA name with a random suffix, so the old and new CA differ by name, not only by key identifier. */
function newCaName(config: PkiConfig, now: Date): string {
  return `${config.caCommonName} ${now.toISOString().slice(0, 10)} ${shortId()}`;
}

function shortId(): string {
  return randomSerialNumber().slice(0, 8);
}

function onlyCertificate(certPem: string): string {
  const first = splitPem(certPem)[0];
  if (first === undefined)
    throw new CertificateError('format', 'a CA certificate parameter contains no PEM block');
  return first;
}
