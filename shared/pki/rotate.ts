// One rotation run: apply every step that is due, then report rotations, failures and close expiries.

import type { Alerter } from '../alerts/alerter.ts';
import { errorMessage, FleetLoginError } from '../errors.ts';
import { checkImportedCaKey } from './ca-import.ts';
import { checkCertificatePair } from './checks.ts';
import type { PkiConfig } from './config.ts';
import { splitPem, x509 } from './crypto.ts';
import { CertificateError } from './errors.ts';
import { type CertificatePair, issueLeaf, type LeafIssuer } from './issue.ts';
import {
  type CertificateSummary,
  loadActiveCertificates,
  nextRotationStep,
  type RotationStep,
  summarizeCertificates,
} from './plan.ts';
import type { PkiState } from './state.ts';
import {
  bootstrap,
  dropPreviousCa,
  issueFromNextCa,
  renewIntermediate,
  renewLeaf,
  type StepContext,
  startCaRotation,
} from './steps.ts';
import type { SsmCertificateStore } from './store.ts';

/**
 * Step limit of one run. The longest run takes six steps (a whole CA rotation, which needs a zero
 * overlap that only tests set, an intermediate and both leaves), so reaching ten means a step that
 * does not change the state.
 */
const MAX_STEPS_PER_RUN = 10;

export interface RotationDependencies {
  store: SsmCertificateStore;
  alerter: Alerter;
  now?: () => Date;
  issueLeaf?: LeafIssuer;
}

export interface RotationReport {
  steps: RotationStep[];
  state: PkiState;
  certificates: CertificateSummary[];
  /** Active certificates that expire within the alert period. */
  expiring: CertificateSummary[];
}

/**
 * Applies every due step (bootstrap, CA rotation phases, intermediate and leaf renewal) and sends a notice
 * when anything rotated. On failure it sends a critical alert and rethrows, and the pointer stays on the last
 * complete set.
 */
export async function rotateCertificates(
  config: PkiConfig,
  dependencies: RotationDependencies,
): Promise<RotationReport> {
  const now = (dependencies.now ?? (() => new Date()))();
  const context: StepContext = {
    store: dependencies.store,
    config,
    now,
    issueLeaf: dependencies.issueLeaf ?? issueLeaf,
  };
  const steps: RotationStep[] = [];
  try {
    await applyDueSteps(context, steps);
  } catch (error) {
    await sendFailureAlert(dependencies.alerter, config, steps, error);
    // Best effort: a failing run still warns of a close expiry, unless reading the store fails as well.
    await reportExpiries(context, dependencies.alerter, steps).catch(() => undefined);
    throw error;
  }

  if (steps.length > 0) {
    await dependencies.alerter.send({
      severity: 'info',
      subject: 'fleet-login LDAP certificates rotated',
      message: `Rotation under ${config.prefix} applied: ${describeSteps(steps)}.`,
    });
  }
  return reportExpiries(context, dependencies.alerter, steps);
}

/**
 * Bootstraps an empty prefix with an existing self-signed P-256 CA instead of a new one. The key may be
 * PKCS#8 or SEC1 PEM and is stored as PKCS#8.
 */
export async function importCa(
  config: PkiConfig,
  dependencies: RotationDependencies,
  imported: CertificatePair,
): Promise<PkiState> {
  const now = (dependencies.now ?? (() => new Date()))();
  // Checked before anything is written: bootstrap stores the CA before it first signs with the key.
  const ca = checkImportedCaKey(imported);
  if ((await dependencies.store.readState()) !== undefined) {
    throw new FleetLoginError(
      `${config.prefix} already contains certificates; import a CA only into an empty prefix`,
    );
  }
  const caPem = splitPem(ca.certPem)[0];
  if (caPem === undefined || !(await new x509.X509Certificate(caPem).isSelfSigned())) {
    throw new CertificateError('chain', 'the imported CA certificate must be a self-signed root CA');
  }
  // An existing CA may have any lifetime. One past its renewal point starts a CA rotation on the next run.
  const maxLifetimeMs = Number.POSITIVE_INFINITY;
  await checkCertificatePair({
    label: 'imported CA certificate',
    pair: ca,
    anchorsPem: caPem,
    usage: 'ca',
    now,
    maxLifetimeMs,
  });
  const context = { store: dependencies.store, config, now, issueLeaf: dependencies.issueLeaf ?? issueLeaf };
  return bootstrap(context, ca);
}

async function applyDueSteps(context: StepContext, steps: RotationStep[]): Promise<void> {
  for (let count = 0; count < MAX_STEPS_PER_RUN; count++) {
    const active = await loadActiveCertificates(context.store);
    const step = nextRotationStep(active, context.config, context.now);
    if (step === undefined) return;

    await applyStep(context, step, active?.state);
    steps.push(step);
  }
  throw new FleetLoginError(
    `rotation under ${context.config.prefix} did not settle after ${MAX_STEPS_PER_RUN} steps`,
  );
}

async function applyStep(
  context: StepContext,
  step: RotationStep,
  state: PkiState | undefined,
): Promise<PkiState> {
  if (step.kind === 'bootstrap' || state === undefined) return bootstrap(context);
  switch (step.kind) {
    case 'start-ca-rotation':
      return startCaRotation(context, state);
    case 'issue-from-next-ca':
      return issueFromNextCa(context, state);
    case 'drop-previous-ca':
      return dropPreviousCa(context, state);
    case 'renew-intermediate':
      return renewIntermediate(context, state);
    case 'renew-leaf':
      return renewLeaf(context, state, step.role);
  }
}

async function reportExpiries(context: StepContext, alerter: Alerter, steps: RotationStep[]) {
  const active = await loadActiveCertificates(context.store);
  if (active === undefined)
    throw new FleetLoginError(`the active pointer under ${context.config.prefix} is missing after rotation`);

  const certificates = summarizeCertificates(active, context.config, context.now);
  const expiring = certificates.filter(
    (summary) => summary.notAfter.getTime() - context.now.getTime() <= context.config.expiryAlertMs,
  );
  if (expiring.length > 0) {
    const list = expiring.map(
      (summary) => `${summary.slot} (${summary.subject}) on ${summary.notAfter.toISOString()}`,
    );
    await alerter.send({
      severity: 'critical',
      subject: 'fleet-login LDAP certificate expires soon',
      message: `Active certificates under ${context.config.prefix} expire soon: ${list.join('; ')}. Check why rotation has not renewed them.`,
    });
  }
  return { steps, state: active.state, certificates, expiring };
}

async function sendFailureAlert(alerter: Alerter, config: PkiConfig, done: RotationStep[], error: unknown) {
  const applied =
    done.length > 0 ? `Steps applied before it: ${describeSteps(done)}.` : 'No step was applied.';
  try {
    await alerter.send({
      severity: 'critical',
      subject: 'fleet-login LDAP certificate rotation failed',
      message: `Rotation under ${config.prefix} failed: ${errorMessage(error)}. ${applied} The failed step did not change the active certificates.`,
    });
  } catch (alertError) {
    throw new AggregateError(
      [error, alertError],
      'certificate rotation failed, and sending its alert failed too',
    );
  }
}

/** Lists steps as "renew-leaf server (reason), …". */
export function describeSteps(steps: readonly RotationStep[]): string {
  return steps
    .map((step) => `${step.kind}${step.kind === 'renew-leaf' ? ` ${step.role}` : ''} (${step.reason})`)
    .join(', ');
}
