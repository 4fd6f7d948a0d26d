// Lambda: the HR system's webhook (BambooHR style) behind API Gateway HTTP API.

import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { defaultRuntime, toHttpRequest, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { createMetrics, recordWebhookRejection } from '../shared/metrics.ts';
import type { Runtime } from '../shared/runtime.ts';
import { handleHrHook } from '../shared/sources/hr-hook.ts';

const logger = createLogger('hr-hook');
// Rejections go out through singleMetric(), which flushes at once, so no logMetrics middleware is needed.
const metrics = createMetrics('hr-hook');

/** Builds the handler. The secret parameter may hold two secrets, one per line, while one is rotated. */
export function createHrHookHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(
    logger,
    async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
      const runtime = getRuntime();
      const secretText = await runtime.parameters.get(runtime.config.hr.hookSecretParameter);
      const deps = {
        secrets: secretText.split('\n').map((line) => line.trim()),
        groupField: runtime.config.hr.groupField,
        inbox: runtime.bucket(runtime.config.buckets.inbox),
        log: logger,
        onRejected: (reason: string) => recordWebhookRejection(metrics, 'hr', reason),
      };
      return handleHrHook(toHttpRequest(event), deps);
    },
  ).use(
    // A failure to store becomes a bare 500, which the HR system retries with backoff.
    httpErrorHandler({ logger: (error: unknown) => logger.error('delivery not stored', { error }) }),
  );
}

export const handler = createHrHookHandler();
