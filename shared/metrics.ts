// CloudWatch metrics in embedded metric format (EMF): JSON lines on stdout that CloudWatch Logs turns into metrics.

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch namespace of every fleet-login metric. */
export const METRICS_NAMESPACE = 'FleetLogin';

/** Creates the metrics of one function; Powertools adds its name as the `service` dimension. */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

/** One host class's result in a publish, as publishBundles returns it. */
export interface ClassPublishFigures {
  hostClass: string;
  outcome: 'published' | 'unchanged' | 'superseded';
  people: number;
  bytes: number;
}

/**
 * Emits, with the `HostClass` dimension, the people in each class's bundle, the bundle's size in
 * bytes, and 1 in `ManifestsPublished` when a new manifest was written. Each value is written at once.
 */
export function recordClassPublishes(metrics: Metrics, results: readonly ClassPublishFigures[]): void {
  for (const result of results) {
    // A single-metric instance writes one EMF line per value and clears added dimensions after
    // each, so HostClass goes in as a default dimension, which every line keeps.
    const perClass = metrics.singleMetric();
    perClass.setDefaultDimensions({ HostClass: result.hostClass });
    perClass.addMetric('BundlePeople', MetricUnit.Count, result.people);
    perClass.addMetric('BundleBytes', MetricUnit.Bytes, result.bytes);
    perClass.addMetric('ManifestsPublished', MetricUnit.Count, result.outcome === 'published' ? 1 : 0);
  }
}

/** Outcome of a publish run: bundles written or unchanged, rejected by a guard, or failed. */
export type PublishRunOutcome = 'completed' | 'refused' | 'failed';

/**
 * Adds the run's duration and one count for its outcome (`PublishCompleted`, `PublishRefused` or
 * `PublishFailed`) to the stored metrics, which the logMetrics middleware flushes.
 */
export function recordPublishRun(metrics: Metrics, outcome: PublishRunOutcome, durationMs: number): void {
  metrics.addMetric('PublishDuration', MetricUnit.Milliseconds, durationMs);
  metrics.addMetric('PublishCompleted', MetricUnit.Count, outcome === 'completed' ? 1 : 0);
  metrics.addMetric('PublishRefused', MetricUnit.Count, outcome === 'refused' ? 1 : 0);
  metrics.addMetric('PublishFailed', MetricUnit.Count, outcome === 'failed' ? 1 : 0);
}

/**
 * Emits `WebhookRejected` = 1 with the `Source` (okta or hr) and `Reason` dimensions. Reasons are
 * the codes the hooks log, such as unauthorized, bad-signature, stale-timestamp or invalid-envelope.
 */
export function recordWebhookRejection(metrics: Metrics, source: 'okta' | 'hr', reason: string): void {
  const rejection = metrics.singleMetric();
  rejection.addDimensions({ Source: source, Reason: reason });
  rejection.addMetric('WebhookRejected', MetricUnit.Count, 1);
}

/** Summary of a certificate rotation run, from rotateCertificates' report or its failure. */
export type RotationFigures =
  | { failed: true }
  | { failed: false; steps: readonly string[]; expiring: number };

/**
 * Adds `RotationSucceeded` or `RotationFailed`, and after a success the number of steps applied
 * (`RotationSteps`) and of active certificates near expiry (`CertificatesExpiring`).
 */
export function recordRotation(metrics: Metrics, figures: RotationFigures): void {
  metrics.addMetric('RotationSucceeded', MetricUnit.Count, figures.failed ? 0 : 1);
  metrics.addMetric('RotationFailed', MetricUnit.Count, figures.failed ? 1 : 0);
  if (figures.failed) return;

  metrics.addMetric('RotationSteps', MetricUnit.Count, figures.steps.length);
  metrics.addMetric('CertificatesExpiring', MetricUnit.Count, figures.expiring);
}
