// Lambda: the Okta event hook URL (GET verification, POST deliveries) behind API Gateway HTTP API.

import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { defaultRuntime, toHttpRequest, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { createMetrics, recordWebhookRejection } from '../shared/metrics.ts';
import type { Runtime } from '../shared/runtime.ts';
import { handleOktaHook } from '../shared/sources/okta-hook.ts';

const logger = createLogger('okta-hook');
// Rejections go out through singleMetric(), which flushes at once, so no logMetrics middleware is needed.
const metrics = createMetrics('okta-hook');

/** Builds the handler; the local stack passes its own runtime. */
export function createOktaHookHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(
    logger,
    async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
      const runtime = getRuntime();
      const deps = {
        authHeader: runtime.config.okta.authHeader,
        secret: await runtime.parameters.get(runtime.config.okta.hookSecretParameter),
        inbox: runtime.bucket(runtime.config.buckets.inbox),
        log: logger,
        onRejected: (reason: string) => recordWebhookRejection(metrics, 'okta', reason),
      };
      return handleOktaHook(toHttpRequest(event), deps);
    },
  ).use(
    // A failure to store the delivery becomes a bare 500, which Okta retries once.
    httpErrorHandler({ logger: (error: unknown) => logger.error('delivery not stored', { error }) }),
  );
}

export const handler = createOktaHookHandler();
