// Lambda: publishes every host class's bundle, on a directory change, on a schedule, or by hand.

import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { publishAll } from '../shared/control-plane.ts';
import { PublishRefusedError } from '../shared/errors.ts';
import { defaultRuntime, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { createMetrics, recordClassPublishes, recordPublishRun } from '../shared/metrics.ts';
import type { Runtime } from '../shared/runtime.ts';

const logger = createLogger('publish-bundles');
const metrics = createMetrics('publish-bundles');

/**
 * Builds the handler; whatever the trigger, it reads one fresh snapshot and publishes from it. An
 * operator overrides a refused publish once by invoking the function by hand with
 * `{"confirmShrink": true}` or `{"allowEmpty": true}`; S3 and schedule events never carry them.
 */
export function createPublishHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(logger, async (event: unknown) => {
    const overrides = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
    const startedAt = Date.now();
    let results: Awaited<ReturnType<typeof publishAll>>;
    try {
      results = await publishAll(getRuntime(), logger, {
        confirmShrink: overrides.confirmShrink === true,
        allowEmpty: overrides.allowEmpty === true,
      });
    } catch (error) {
      recordPublishRun(
        metrics,
        error instanceof PublishRefusedError ? 'refused' : 'failed',
        Date.now() - startedAt,
      );
      throw error;
    }
    recordPublishRun(metrics, 'completed', Date.now() - startedAt);
    recordClassPublishes(metrics, results);
    return results.map(({ hostClass, outcome, serial, people }) => ({ hostClass, outcome, serial, people }));
  }).use(logMetrics(metrics));
}

export const handler = createPublishHandler();
