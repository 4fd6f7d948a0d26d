// Reads one name's uid from <root>/etc/passwd.cache for authorized-keys. It runs on every SSH login,
// so it reads the name index and one line of the cache instead of the whole cache.

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { lookupIndex } from '../shared/bundle/index-file.ts';

const NEWLINE = 0x0a;
/** Bytes read per step when reading one passwd line; a line is rarely longer (GECOS is at most 256 bytes). */
const LINE_CHUNK_BYTES = 1024;

/**
 * Returns the uid that `<root>/etc/passwd.cache` gives `user`, or undefined when it has no entry
 * for the name. The name index (passwd.cache.ixname) is used when its entry points at the user's
 * line. A missing, malformed or stale index costs a scan of the whole cache instead.
 * Throws when passwd.cache cannot be read.
 */
export function passwdCacheUid(root: string, user: string): number | undefined {
  const cachePath = join(root, 'etc/passwd.cache');
  const fromIndex = uidThroughIndex(join(root, 'etc/passwd.cache.ixname'), cachePath, user);
  if (fromIndex !== undefined) return fromIndex;
  return uidByScan(readFileSync(cachePath), user);
}

/** Returns the uid through the index, or undefined when the index does not lead to the user's line. */
function uidThroughIndex(indexPath: string, cachePath: string, user: string): number | undefined {
  let index: Buffer;
  try {
    index = readFileSync(indexPath);
  } catch {
    return undefined;
  }
  // lookupIndex takes the line width from the first newline without checking it. A width of zero
  // (no newline) would make its binary search loop forever, so a malformed index is not searched.
  const lineWidth = index.indexOf(NEWLINE) + 1;
  if (lineWidth === 0 || index.length % lineWidth !== 0) return undefined;
  const offset = lookupIndex(index, user);
  if (offset === undefined || !Number.isSafeInteger(offset)) return undefined;
  const line = readLineAt(cachePath, offset);
  return line === undefined ? undefined : uidFromLine(line, user);
}

/** Reads the line that starts at `offset`; undefined when the offset is past the end. */
function readLineAt(path: string, offset: number): string | undefined {
  const descriptor = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let position = offset;
    for (;;) {
      const chunk = Buffer.alloc(LINE_CHUNK_BYTES);
      const read = readSync(descriptor, chunk, 0, LINE_CHUNK_BYTES, position);
      if (read === 0) break;
      const end = chunk.subarray(0, read).indexOf(NEWLINE);
      chunks.push(chunk.subarray(0, end < 0 ? read : end));
      if (end >= 0) break;
      position += read;
    }
    return chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(descriptor);
  }
}

/** Scans the cache for the line whose name field is `user`. */
function uidByScan(cache: Buffer, user: string): number | undefined {
  const prefix = Buffer.from(`${user}:`);
  for (let start = cache.indexOf(prefix); start >= 0; start = cache.indexOf(prefix, start + 1)) {
    if (start > 0 && cache[start - 1] !== NEWLINE) continue;
    const end = cache.indexOf(NEWLINE, start);
    return uidFromLine(cache.subarray(start, end < 0 ? cache.length : end).toString('utf8'), user);
  }
  return undefined;
}

/** Returns the uid field of a passwd line whose name is `user`, or undefined for any other line. */
function uidFromLine(line: string, user: string): number | undefined {
  const fields = line.split(':');
  if (fields[0] !== user || fields.length < 7) return undefined;
  const uid = fields[2] ?? '';
  return /^\d+$/.test(uid) ? Number(uid) : undefined;
}
