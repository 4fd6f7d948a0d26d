// Lambda: publishes every host class's bundle, on a directory change, on a schedule, or by hand.

import { publishAll } from '../shared/control-plane.ts';
import { defaultRuntime, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import type { Runtime } from '../shared/runtime.ts';

const logger = createLogger('publish-bundles');

/**
 * Builds the handler; whatever the trigger, it reads one fresh snapshot and publishes from it. An
 * operator overrides a refused publish once by invoking the function by hand with
 * `{"confirmShrink": true}` or `{"allowEmpty": true}`; S3 and schedule events never carry them.
 */
export function createPublishHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(logger, async (event: unknown) => {
    const overrides = typeof event === 'object' && event !== null ? (event as Record<string, unknown>) : {};
    const results = await publishAll(getRuntime(), logger, {
      confirmShrink: overrides.confirmShrink === true,
      allowEmpty: overrides.allowEmpty === true,
    });
    return results.map(({ hostClass, outcome, serial, people }) => ({ hostClass, outcome, serial, people }));
  });
}

export const handler = createPublishHandler();
