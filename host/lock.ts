// A lock file so that a timer run and a manual run never install at the same time.

import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FleetLoginError } from '../shared/errors.ts';
import { withPath } from './durable-fs.ts';

/** Another live process has the agent's lock. */
export class LockHeldError extends FleetLoginError {}

/**
 * Takes the lock by creating the file with our pid. A lock whose pid is no longer running (the
 * holder was killed) is taken over. Returns the function that releases it.
 * NOTE: a pid reused by an unrelated process after a crash keeps the lock until that process ends.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await createLockFile(path);
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (isRunning(holder))
      throw new LockHeldError(`another fleet-login-agent (pid ${holder}) has the lock ${path}`);
    await rm(path, { force: true });
  }
  throw new LockHeldError(`could not take the lock ${path}; another agent took it first`);
}

/** Creates the lock file with our pid. A file created but not written (a full /run) is removed again. */
async function createLockFile(path: string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(`${process.pid}\n`);
  } catch (error) {
    await handle.close();
    await rm(path, { force: true });
    throw withPath(error, path);
  }
  await handle.close();
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM means the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
