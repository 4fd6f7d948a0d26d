// Code every Lambda handler shares: the cold-start runtime, the logger middleware, request mapping.

import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { loadConfig } from './config.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import type { HttpRequest } from './sources/http.ts';

let coldStartRuntime: Runtime | undefined;

/** Loads the configuration on the first invocation, so a bad variable fails the invocation, not the import. */
export function defaultRuntime(): Runtime {
  coldStartRuntime ??= createRuntime(loadConfig());
  return coldStartRuntime;
}

/** Wraps a handler in middy with the logger's per-invocation keys (request id, cold start). */
export function withLogger<E, R>(logger: Logger, handler: (event: E) => Promise<R>): MiddyfiedHandler<E, R> {
  return middy<E, R>(handler).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** Maps an API Gateway HTTP API (payload 2.0) event to the request the webhook handlers read. */
export function toHttpRequest(event: APIGatewayProxyEventV2): HttpRequest {
  return {
    method: event.requestContext.http.method,
    headers: event.headers,
    ...(event.body === undefined ? {} : { body: event.body }),
    isBase64Encoded: event.isBase64Encoded,
  };
}
