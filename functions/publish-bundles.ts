// Lambda: publishes every host class's bundle, on a directory change, on a schedule, or by hand.

import { publishAll } from '../shared/control-plane.ts';
import { defaultRuntime, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import type { Runtime } from '../shared/runtime.ts';

const logger = createLogger('publish-bundles');

/** Builds the handler; whatever the trigger, it reads one fresh snapshot and publishes from it. */
export function createPublishHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(logger, async () => {
    const results = await publishAll(getRuntime(), logger);
    return results.map(({ hostClass, outcome, serial, people }) => ({ hostClass, outcome, serial, people }));
  });
}

export const handler = createPublishHandler();
