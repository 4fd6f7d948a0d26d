// Lambda: renews the LDAP link's CA and leaf certificates in SSM, on a daily schedule or invoked by hand.

import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { createMetrics, recordRotation } from '../shared/metrics.ts';
import { rotateCertificates } from '../shared/pki/rotate.ts';
import { createRotationSetup, type RotationSetup } from '../shared/pki/setup.ts';

const logger = createLogger('rotate-certs');
const metrics = createMetrics('rotate-certs');

let coldStartSetup: RotationSetup | undefined;

/** Reads the settings on the first invocation, so a bad variable fails the invocation, not the import. */
function defaultSetup(): RotationSetup {
  coldStartSetup ??= createRotationSetup();
  return coldStartSetup;
}

/** Builds the handler with a setup that tests replace. A failure is rethrown after its alert was sent. */
export function createRotateCertsHandler(getSetup: () => RotationSetup = defaultSetup) {
  return withLogger(logger, async () => {
    const { config, store, alerter } = getSetup();
    try {
      const report = await rotateCertificates(config, { store, alerter });
      const steps = report.steps.map((step) => step.kind);
      recordRotation(metrics, { failed: false, steps, expiring: report.expiring.length });
      logger.info('certificate rotation finished', {
        prefix: config.prefix,
        steps,
        expiring: report.expiring.length,
      });
      return {
        steps,
        certificates: report.certificates.map((summary) => ({
          slot: summary.slot,
          serialNumber: summary.serialNumber,
          notAfter: summary.notAfter.toISOString(),
          renewAt: summary.renewAt.toISOString(),
        })),
      };
    } catch (error) {
      recordRotation(metrics, { failed: true });
      logger.error('certificate rotation failed', { prefix: config.prefix, error });
      throw error;
    }
  }).use(logMetrics(metrics));
}

export const handler = createRotateCertsHandler();
