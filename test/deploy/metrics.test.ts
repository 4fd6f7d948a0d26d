// The EMF metrics of shared/metrics.ts, read back from the JSON lines Powertools writes to stdout.

import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import {
  createMetrics,
  METRICS_NAMESPACE,
  recordClassPublishes,
  recordPublishRun,
  recordRotation,
  recordWebhookRejection,
} from '../../shared/metrics.ts';

interface EmfLine {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [field: string]: unknown;
}

let write: MockInstance<typeof process.stdout.write>;

beforeEach(() => {
  write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});

afterEach(() => {
  write.mockRestore();
});

/** Returns the EMF lines written since the test began. */
function emfLines(): EmfLine[] {
  return write.mock.calls
    .map(([chunk]) => String(chunk))
    .flatMap((text) => text.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfLine);
}

/** Returns every metric value of the lines, as `name dimension=value… = value`. */
function values(lines: readonly EmfLine[]): string[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) => {
      const dimensions = (directive.Dimensions[0] ?? [])
        .map((name) => `${name}=${String(line[name])}`)
        .join(' ');
      return directive.Metrics.map((metric) => `${metric.Name} ${dimensions} = ${String(line[metric.Name])}`);
    }),
  );
}

describe('metrics', () => {
  it('writes class publishes per host class', () => {
    const metrics = createMetrics('publish-bundles');

    recordClassPublishes(metrics, [
      { hostClass: 'bastion', outcome: 'published', people: 12, bytes: 4096 },
      { hostClass: 'prod-admin', outcome: 'unchanged', people: 3, bytes: 900 },
    ]);

    expect(values(emfLines())).toEqual([
      'BundlePeople service=publish-bundles HostClass=bastion = 12',
      'BundleBytes service=publish-bundles HostClass=bastion = 4096',
      'ManifestsPublished service=publish-bundles HostClass=bastion = 1',
      'BundlePeople service=publish-bundles HostClass=prod-admin = 3',
      'BundleBytes service=publish-bundles HostClass=prod-admin = 900',
      'ManifestsPublished service=publish-bundles HostClass=prod-admin = 0',
    ]);
    expect(emfLines()[0]?._aws.CloudWatchMetrics[0]?.Namespace).toBe(METRICS_NAMESPACE);
  });

  it.each([
    ['completed', [1, 0, 0]],
    ['refused', [0, 1, 0]],
    ['failed', [0, 0, 1]],
  ] as const)('counts a %s publish run', (outcome, [completed, refused, failed]) => {
    const metrics = createMetrics('publish-bundles');

    recordPublishRun(metrics, outcome, 1234);
    metrics.publishStoredMetrics();

    expect(values(emfLines())).toEqual([
      'PublishDuration service=publish-bundles = 1234',
      `PublishCompleted service=publish-bundles = ${completed}`,
      `PublishRefused service=publish-bundles = ${refused}`,
      `PublishFailed service=publish-bundles = ${failed}`,
    ]);
  });

  it('counts webhook rejections by source and reason', () => {
    const metrics = createMetrics('hr-hook');

    recordWebhookRejection(metrics, 'hr', 'stale-timestamp');

    expect(values(emfLines())).toEqual([
      'WebhookRejected service=hr-hook Source=hr Reason=stale-timestamp = 1',
    ]);
  });

  it('counts a rotation and its steps', () => {
    const metrics = createMetrics('rotate-certs');

    recordRotation(metrics, { failed: false, steps: ['renew-leaf', 'renew-leaf'], expiring: 1 });
    metrics.publishStoredMetrics();

    expect(values(emfLines())).toEqual([
      'RotationSucceeded service=rotate-certs = 1',
      'RotationFailed service=rotate-certs = 0',
      'RotationSteps service=rotate-certs = 2',
      'CertificatesExpiring service=rotate-certs = 1',
    ]);
  });

  it('counts a failed rotation without steps', () => {
    const metrics = createMetrics('rotate-certs');

    recordRotation(metrics, { failed: true });
    metrics.publishStoredMetrics();

    expect(values(emfLines())).toEqual([
      'RotationSucceeded service=rotate-certs = 0',
      'RotationFailed service=rotate-certs = 1',
    ]);
  });
});
