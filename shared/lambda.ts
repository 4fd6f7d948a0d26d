// What every Lambda handler shares: the cold-start runtime, the logger middleware, error answers.

import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import { loadConfig } from './config.ts';
import { createRuntime, type Runtime } from './runtime.ts';

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
