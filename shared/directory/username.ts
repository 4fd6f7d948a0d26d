// The username rule: one deterministic mapping from an Okta login or HR email to a POSIX name.

import { createHash } from 'node:crypto';
import { POSIX_NAME } from '../bundle/nss-maps.ts';
import { DirectoryError } from '../errors.ts';
import { isReservedName } from './reserved-names.ts';

/** Maximum POSIX name length, the limit GCP OS Login and Okta ASA also use. */
export const MAX_USERNAME_LENGTH = 32;

/** Hex digits of the SHA-256 suffix that keeps shortened or colliding names distinct. */
const SUFFIX_HEX_DIGITS = 8;

/**
 * Derives the POSIX name for a login such as `Jane.Doe+ops@example.com`:
 * 1. take the part before `@`, lower-case it and fold accents and letters such as ß, ł, ø to ASCII;
 * 2. replace each run of characters outside `[a-z0-9_.-]` with `_` (so `+ops` becomes `_ops`);
 * 3. prefix `u` when the name does not start with a letter or `_` (`23nrao` → `u23nrao`);
 * 4. when longer than 32 characters, keep 23 and append `-` and 8 hex digits of the SHA-256 of
 *    the whole lower-cased login, so two long logins sharing a prefix stay distinct.
 * A login with no letter or digit left becomes `u` and 8 hex digits of the login's SHA-256. The same
 * login always gives the same name; collisions are resolved by `resolveUsername`.
 */
export function usernameFor(login: string): string {
  const lower = login.trim().toLowerCase();
  const local = lower.includes('@') ? lower.slice(0, lower.lastIndexOf('@')) : lower;
  let name = transliterate(local.normalize('NFKD').replace(/[\u0300-\u036f]/g, '')).replace(
    /[^a-z0-9_.-]+/g,
    '_',
  );
  // A login with no letter or digit left (`日本@…`, `@…`) gets a name made from its hash alone.
  if (!/[a-z0-9]/.test(name)) return `u${digest(lower)}`;
  if (!/^[a-z_]/.test(name)) name = `u${name}`;
  if (name.length > MAX_USERNAME_LENGTH) name = withSuffix(name, lower);
  return name;
}

/** Latin letters that NFKD does not split into a base letter and a mark. */
const LATIN_LETTERS: Record<string, string> = {
  ß: 'ss',
  ł: 'l',
  ø: 'o',
  æ: 'ae',
  œ: 'oe',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ŧ: 't',
  ħ: 'h',
};

function transliterate(text: string): string {
  return text.replace(/[ßłøæœđðþıŧħ]/g, (letter) => LATIN_LETTERS[letter] ?? letter);
}

function digest(seed: string): string {
  return createHash('sha256').update(seed).digest('hex').slice(0, SUFFIX_HEX_DIGITS);
}

/**
 * Returns the first candidate that is free: the rule's name, then the name suffixed with a hash
 * of the source id. `isTaken` says whether another person or a reserved account holds a name.
 */
export async function resolveUsername(
  login: string,
  sourceId: string,
  isTaken: (name: string) => Promise<boolean>,
): Promise<string> {
  const base = usernameFor(login);
  const candidates = [base, withSuffix(base, sourceId), withSuffix(base, `${sourceId}/${login}`)];
  for (const candidate of candidates) {
    if (!POSIX_NAME.test(candidate)) continue;
    if (isReservedName(candidate)) continue;
    if (!(await isTaken(candidate))) return candidate;
  }
  throw new DirectoryError(`no free username for ${login}: ${candidates.join(', ')} are all taken`);
}

function withSuffix(name: string, seed: string): string {
  const suffix = digest(seed);
  const keep = MAX_USERNAME_LENGTH - SUFFIX_HEX_DIGITS - 1;
  return `${name.slice(0, keep).replace(/[.-]+$/, '')}-${suffix}`;
}
