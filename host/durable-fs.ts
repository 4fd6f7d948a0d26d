// File operations that survive a crash or power loss: write, fsync, then make visible with one rename.

import { randomBytes } from 'node:crypto';
import { open, readlink, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface FileOwnership {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Creates `path` (it must not exist yet) with the bytes, mode and owner, and fsyncs it. The mode
 * is set with fchmod so the umask cannot narrow it. Ownership is only changed when running as
 * root, because an unprivileged test run cannot chown and owns what it writes anyway.
 */
export async function writeNewFileSynced(
  path: string,
  bytes: Buffer,
  ownership: FileOwnership,
): Promise<void> {
  const handle = await open(path, 'wx', ownership.mode);
  try {
    await handle.writeFile(bytes);
    await handle.chmod(ownership.mode);
    if (process.getuid?.() === 0) await handle.chown(ownership.uid, ownership.gid);
    await handle.sync();
  } catch (error) {
    throw withPath(error, path);
  } finally {
    await handle.close();
  }
}

/**
 * Sets `path` on a Node.js file-system error that lacks one, as errors from writes through a file
 * handle do, so that messages can name the file (an ENOSPC from a write names only the call).
 */
export function withPath(error: unknown, path: string): unknown {
  const errno = error as NodeJS.ErrnoException;
  if (error instanceof Error && errno.code !== undefined && errno.path === undefined) errno.path = path;
  return error;
}

/** Fsyncs a folder, so that renames and creations inside it are on disk. */
export async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Returns a name for a temporary entry beside `path`, hidden and unique. */
export function temporarySibling(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${randomBytes(6).toString('hex')}`);
}

/**
 * Points `linkPath` at `target` with one rename, replacing whatever is there (a regular file or
 * another link) atomically. Does nothing when the link already has that target. Returns whether
 * it changed anything.
 */
export async function replaceWithSymlink(linkPath: string, target: string): Promise<boolean> {
  if ((await readLinkOrUndefined(linkPath)) === target) return false;
  const temporary = temporarySibling(linkPath);
  await symlink(target, temporary);
  try {
    await rename(temporary, linkPath);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncFolder(dirname(linkPath));
  return true;
}

/** Returns the link's target, or undefined when the path is missing or not a symbolic link. */
export async function readLinkOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readlink(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw error;
  }
}
