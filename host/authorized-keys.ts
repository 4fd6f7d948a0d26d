// `authorized-keys USER`: prints USER's keys from sshkey.cache for sshd's AuthorizedKeysCommand.
// This path runs on every SSH login, so it imports nothing heavy (no zod, no SDK).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSIX_NAME } from '../shared/bundle/nss-maps.ts';

const NEWLINE = 0x0a;

/**
 * Returns the keys of `user` from an sshkey.cache in the one-key-per-line form (`name:key`).
 * The name must match a whole name field: `ana` never matches `ana.lopez`. A name that is not a
 * valid POSIX login name matches nothing, which also keeps `:` and newlines out of the search.
 */
export function findAuthorizedKeys(cache: Buffer, user: string): string[] {
  if (!POSIX_NAME.test(user)) return [];
  const prefix = Buffer.from(`${user}:`);
  const keys: string[] = [];
  let start = cache.indexOf(prefix);
  while (start >= 0) {
    const atLineStart = start === 0 || cache[start - 1] === NEWLINE;
    const end = cache.indexOf(NEWLINE, start);
    const lineEnd = end < 0 ? cache.length : end;
    if (atLineStart) {
      const key = cache
        .subarray(start + prefix.length, lineEnd)
        .toString('utf8')
        .trim();
      if (key !== '') keys.push(key);
    }
    start = cache.indexOf(prefix, lineEnd);
  }
  return keys;
}

/**
 * Reads `<root>/etc/sshkey.cache` and returns the text to print: one key per line, or nothing.
 * A missing cache means no keys (the host has not synced yet), so sshd falls back to other methods.
 */
export function authorizedKeysText(root: string, user: string): string {
  let cache: Buffer;
  try {
    cache = readFileSync(join(root, 'etc/sshkey.cache'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
  const keys = findAuthorizedKeys(cache, user);
  return keys.map((key) => `${key}\n`).join('');
}
