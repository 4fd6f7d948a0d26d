// Turns the error that ended a sync into the one that is recorded, logged and mapped to an exit code.
// A file system that is read-only, full or not writable fails the sync as an install failure naming the path.

import { BundleRejectedError, ConfigError } from '../shared/errors.ts';
import { LockHeldError } from './lock.ts';

/** Error codes that mean the agent cannot write where it must, with their description. */
const FILE_SYSTEM_FAILURES: Readonly<Record<string, string>> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
};

/** Errors wrap each other at most this deep in the agent; the limit also stops a cyclic chain. */
const MAX_CAUSE_DEPTH = 5;

/** Returns the first error in the `cause` chain whose code is a file-system failure, if any. */
export function findFileSystemFailure(error: unknown): NodeJS.ErrnoException | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && current instanceof Error; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && Object.hasOwn(FILE_SYSTEM_FAILURES, code)) return current;
    current = current.cause;
  }
  return undefined;
}

/** Describes a file-system failure in one line, e.g. `read-only file system (EROFS): /run/fleet-login/agent.lock`. */
export function describeFileSystemFailure(error: NodeJS.ErrnoException): string {
  const code = error.code ?? 'unknown';
  const where = error.path ?? `an unnamed file (${error.syscall ?? 'unknown call'})`;
  return `${FILE_SYSTEM_FAILURES[code] ?? code} (${code}): ${where}`;
}

/**
 * Returns the error to record and raise for a failed sync. A file-system failure outside the
 * install step (taking the lock, repairing a link, writing state.json) becomes
 * BundleRejectedError('install') naming the path. Other errors are returned unchanged.
 */
export function asSyncFailure(error: unknown): unknown {
  if (
    error instanceof BundleRejectedError ||
    error instanceof ConfigError ||
    error instanceof LockHeldError
  ) {
    return error;
  }
  const failure = findFileSystemFailure(error);
  if (!failure) return error;
  return new BundleRejectedError('install', describeFileSystemFailure(failure), { cause: failure });
}
