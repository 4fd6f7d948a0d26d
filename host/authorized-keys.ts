// `authorized-keys USER [UID]`: prints USER's keys from sshkey.cache for sshd's AuthorizedKeysCommand.
// This path runs on every SSH login, so it imports nothing heavy (no zod, no SDK).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSIX_NAME } from '../shared/bundle/nss-maps.ts';
import { passwdCacheUid } from './passwd-cache.ts';

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

/** The reason why keys that sshkey.cache contains were not printed. */
export interface WithheldKeys {
  reason: 'uid-differs' | 'not-in-passwd-cache';
  /** The uid sshd resolved the name to (its %U). */
  uid: number;
  /** The uid passwd.cache gives the name; absent when passwd.cache has no entry for it. */
  bundleUid?: number;
}

export interface AuthorizedKeysResult {
  /** The text to print: one key per line, or nothing. */
  text: string;
  withheld?: WithheldKeys;
}

/**
 * Looks up the keys of `user` in `<root>/etc/sshkey.cache`. A missing cache means no keys (the
 * host has not synced yet), so sshd falls back to other methods.
 *
 * With `uid` (sshd's %U), keys are returned only when passwd.cache gives `user` that same uid.
 * nsswitch reads /etc/passwd before the cache, so a bundle name that equals a local account's
 * name resolves to the local uid, and printing the bundle person's keys would let them log in as
 * that local account.
 */
export function lookUpAuthorizedKeys(root: string, user: string, uid?: number): AuthorizedKeysResult {
  const keys = findAuthorizedKeys(readSshkeyCache(root), user);
  if (keys.length === 0) return { text: '' };
  const text = keys.map((key) => `${key}\n`).join('');
  if (uid === undefined) return { text };

  const bundleUid = passwdCacheUid(root, user);
  if (bundleUid === uid) return { text };
  const reason = bundleUid === undefined ? 'not-in-passwd-cache' : 'uid-differs';
  return { text: '', withheld: { reason, uid, bundleUid } };
}

function readSshkeyCache(root: string): Buffer {
  try {
    return readFileSync(join(root, 'etc/sshkey.cache'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
}
