// The structured logger every entry point uses: Powertools Logger, one JSON object per line.

import { Logger } from '@aws-lambda-powertools/logger';

/** The logging calls the shared code makes, so tests can pass a recording or silent logger. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Creates the logger of one service; the level comes from POWERTOOLS_LOG_LEVEL (default INFO). */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** A logger that drops everything, for tests and benchmarks. */
export const silentLog: Log = { debug() {}, info() {}, warn() {}, error() {} };
