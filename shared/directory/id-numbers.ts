// Starting points of uidNumbers and gidNumbers, and the checks that keep the two ranges apart.

import { ConfigError } from '../errors.ts';

/** First uidNumber handed out: above the 1000–60000 range distributions give local accounts. */
export const FIRST_UID_NUMBER = 100_000;
/** First gidNumber for shared groups; user-private groups take their person's uidNumber instead. */
export const FIRST_GID_NUMBER = 500_000;
/** Lowest start accepted: below it, numbers run into the local accounts of stock images. */
export const MIN_FIRST_ID_NUMBER = 10_000;

/**
 * Reads FIRST_UID_NUMBER and FIRST_GID_NUMBER. User-private groups reuse uidNumbers as gidNumbers,
 * so shared groups must start above the uid range's start; people and shared groups then only meet
 * after FIRST_GID_NUMBER − FIRST_UID_NUMBER people.
 */
export function readIdNumberRange(env: Readonly<Record<string, string | undefined>>): {
  firstUidNumber: number;
  firstGidNumber: number;
} {
  const firstUidNumber = idNumber(env, 'FIRST_UID_NUMBER', FIRST_UID_NUMBER);
  const firstGidNumber = idNumber(env, 'FIRST_GID_NUMBER', FIRST_GID_NUMBER);
  if (firstGidNumber <= firstUidNumber) {
    throw new ConfigError(
      `FIRST_GID_NUMBER (${firstGidNumber}) must be above FIRST_UID_NUMBER (${firstUidNumber}), because user-private groups take gidNumbers from the uid range`,
    );
  }
  return { firstUidNumber, firstGidNumber };
}

function idNumber(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  const maximum = 2 ** 31 - 2;
  if (!/^\d+$/.test(raw) || value < MIN_FIRST_ID_NUMBER || value > maximum) {
    throw new ConfigError(
      `${name} must be a whole number from ${MIN_FIRST_ID_NUMBER} to ${maximum}; got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}
