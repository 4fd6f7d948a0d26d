// Reads one name's uid from <root>/etc/passwd.cache for authorized-keys. It runs on every SSH login,
// so it reads a few lines of the name index and one line of the cache, not whole files.

import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

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
  let descriptor: number;
  try {
    descriptor = openSync(indexPath, 'r');
  } catch {
    return undefined;
  }
  let offset: number | undefined;
  try {
    offset = searchIndex(descriptor, Buffer.from(user));
  } finally {
    closeSync(descriptor);
  }
  if (offset === undefined) return undefined;
  const line = readLineAt(cachePath, offset);
  return line === undefined ? undefined : uidFromLine(line, user);
}

/**
 * Binary-searches an index file for `key` as libnss-cache does (byte order, every line one width),
 * reading one line per step instead of the whole file: a 50,000-person index is 1 MB. Returns the
 * offset, or undefined when the key is absent or the index is malformed.
 */
function searchIndex(descriptor: number, key: Buffer): number | undefined {
  const { size } = fstatSync(descriptor);
  const head = Buffer.alloc(LINE_CHUNK_BYTES);
  const lineWidth = head.subarray(0, readSync(descriptor, head, 0, LINE_CHUNK_BYTES, 0)).indexOf(NEWLINE) + 1;
  if (lineWidth === 0 || size % lineWidth !== 0) return undefined;

  const line = Buffer.alloc(lineWidth);
  let low = 0;
  let high = size / lineWidth - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    if (readSync(descriptor, line, 0, lineWidth, middle * lineWidth) !== lineWidth) return undefined;
    const keyEnd = line.indexOf(0);
    if (keyEnd < 0) return undefined;
    const order = Buffer.compare(line.subarray(0, keyEnd), key);
    if (order === 0) return parseOffset(line.subarray(keyEnd + 1));
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/** Parses the decimal offset that follows a key's NUL, up to the padding NUL. */
function parseOffset(field: Buffer): number | undefined {
  const end = field.indexOf(0);
  const digits = field.subarray(0, end < 0 ? field.length : end).toString('latin1');
  return /^\d{1,15}$/.test(digits) ? Number(digits) : undefined;
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
