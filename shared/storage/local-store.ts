// A folder that behaves like an S3 bucket: atomic creates, ETags and conditional writes.

import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { PreconditionFailedError, StorageError } from '../errors.ts';
import type { GetResult, ObjectStore } from './object-store.ts';

const LOCK_RETRY_MS = 5;
const LOCK_TIMEOUT_MS = 5_000;
/** Age after which a lock is taken as left by a crashed writer and removed. */
const LOCK_STALE_MS = 30_000;

/** Quoted hex MD5 of the body, the ETag S3 gives a single-part upload. */
export function etagOf(body: Buffer): string {
  return `"${createHash('md5').update(body).digest('hex')}"`;
}

export class LocalFolderStore implements ObjectStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<GetResult> {
    let body: Buffer;
    try {
      body = await readFile(this.pathOf(key));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return { kind: 'absent' };
      throw new StorageError(`reading ${key} from ${this.root} failed`, { cause: error });
    }
    const etag = etagOf(body);
    if (options.ifNoneMatch === etag) return { kind: 'not-modified' };
    return { kind: 'found', body, etag };
  }

  async put(key: string, body: Buffer | string): Promise<{ etag: string }> {
    const bytes = Buffer.from(body);
    const temp = await this.writeTemp(key, bytes);
    await rename(temp, this.pathOf(key));
    return { etag: etagOf(bytes) };
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const temp = await this.writeTemp(key, Buffer.from(body));
    try {
      // link() fails with EEXIST when the target exists, so the check and the create are one step.
      await link(temp, this.pathOf(key));
      return true;
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return false;
      throw new StorageError(`writing ${key} to ${this.root} failed`, { cause: error });
    } finally {
      await unlink(temp);
    }
  }

  async putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }> {
    const release = await this.lock(key);
    try {
      const current = await this.get(key);
      if (current.kind !== 'found' || current.etag !== etag) {
        throw new PreconditionFailedError(`${key} in ${this.root} changed since it was read`);
      }
      return await this.put(key, body);
    } finally {
      await release();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    await this.walk(this.root, keys);
    return keys
      .filter((key) => key.startsWith(prefix))
      .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async sizeOf(key: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(key))).size;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw new StorageError(`reading the size of ${key} in ${this.root} failed`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    const path = join(this.root, key);
    const inside = relative(this.root, path);
    if (
      key === '' ||
      key.startsWith('/') ||
      inside.startsWith('..') ||
      inside.split(sep).some((part) => part.startsWith('.'))
    ) {
      throw new StorageError(`invalid object key ${JSON.stringify(key)}`);
    }
    return path;
  }

  private async writeTemp(key: string, body: Buffer): Promise<string> {
    const target = this.pathOf(key);
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), `.tmp-${randomBytes(6).toString('hex')}`);
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return temp;
  }

  private async lock(key: string): Promise<() => Promise<void>> {
    const lockDir = join(dirname(this.pathOf(key)), `.lock-${key.replaceAll('/', '_')}`);
    await mkdir(dirname(lockDir), { recursive: true });
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        await mkdir(lockDir);
        return () => rmdir(lockDir);
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
        // A holder killed mid-write leaves its lock behind; a compare-and-swap takes milliseconds.
        if (await isStale(lockDir)) await rmdir(lockDir).catch(() => undefined);
        if (Date.now() > deadline)
          throw new StorageError(`timed out waiting for the lock on ${key} in ${this.root}`);
        await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
      }
    }
  }

  private async walk(folder: string, keys: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await this.walk(path, keys);
      else keys.push(relative(this.root, path).split(sep).join('/'));
    }
  }
}

async function isStale(lockDir: string): Promise<boolean> {
  const info = await stat(lockDir).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > LOCK_STALE_MS;
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
