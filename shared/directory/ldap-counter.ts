// Allocates uidNumbers and gidNumbers from a counter entry with compare-and-swap modifies.

import {
  AlreadyExistsError,
  Attribute,
  Change,
  type Client,
  EqualityFilter,
  NoSuchAttributeError,
  NoSuchObjectError,
  OrFilter,
  PresenceFilter,
  TypeOrValueExistsError,
} from 'ldapts';
import { DirectoryError } from '../errors.ts';
import { integerValue } from './ldap-entries.ts';

/** Attempts before giving up; 50 parallel creates in the tests need at most a few dozen. */
export const COUNTER_MAX_ATTEMPTS = 60;
/** Full-jitter backoff: the wait before attempt n is random in [0, min(cap, base·2ⁿ)). */
const BACKOFF_BASE_MS = 4;
const BACKOFF_CAP_MS = 200;

export type CounterAttribute = 'uidNumber' | 'gidNumber';

export interface CounterSettings {
  /** The server as error messages name it. */
  server: string;
  counterDn: string;
  objectClasses: string[];
  first: Record<CounterAttribute, number>;
  peopleBase: string;
  groupsBase: string;
  pageSize: number;
}

/**
 * Returns the next number of `attribute`, never handed out before. One modify deletes the value
 * read and adds value+1, so of two racing writers exactly one succeeds and the other gets
 * noSuchAttribute (16) and retries after a jittered wait. A number already used by an entry that
 * another tool wrote is skipped. The counter entry is created when missing.
 */
export async function allocateNumber(
  client: Client,
  settings: CounterSettings,
  attribute: CounterAttribute,
  random: () => number = Math.random,
): Promise<number> {
  for (let attempt = 0; attempt < COUNTER_MAX_ATTEMPTS; attempt++) {
    const current = await readCounter(client, settings, attribute);
    if (current === undefined) continue;

    try {
      await client.modify(settings.counterDn, [
        new Change({
          operation: 'delete',
          modification: new Attribute({ type: attribute, values: [String(current)] }),
        }),
        new Change({
          operation: 'add',
          modification: new Attribute({ type: attribute, values: [String(current + 1)] }),
        }),
      ]);
    } catch (error) {
      if (!(error instanceof NoSuchAttributeError)) throw error;
      await sleep(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt));
      continue;
    }
    if (!(await numberInUse(client, settings, current))) return current;
  }
  throw new DirectoryError(
    `allocating a ${attribute} from ${settings.counterDn} on ${settings.server} failed: ${COUNTER_MAX_ATTEMPTS} attempts lost a race or hit a number in use`,
  );
}

/** Reads the counter; creates the entry or the attribute when missing and returns undefined so the caller reads again. */
async function readCounter(
  client: Client,
  settings: CounterSettings,
  attribute: CounterAttribute,
): Promise<number | undefined> {
  let entry: Awaited<ReturnType<Client['search']>>['searchEntries'][number] | undefined;
  try {
    const result = await client.search(settings.counterDn, { scope: 'base', attributes: [attribute] });
    entry = result.searchEntries[0];
  } catch (error) {
    if (!(error instanceof NoSuchObjectError)) throw error;
  }

  if (!entry) {
    await createCounter(client, settings);
    return undefined;
  }
  const value = integerValue(entry, attribute);
  if (value === undefined) {
    await addCounterAttribute(client, settings, attribute);
    return undefined;
  }
  if (!Number.isSafeInteger(value))
    throw new DirectoryError(`${attribute} of ${settings.counterDn} on ${settings.server} is not an integer`);
  return value;
}

/** Creates the counter entry starting above every number already in use, so a lost counter never causes reuse. */
async function createCounter(client: Client, settings: CounterSettings): Promise<void> {
  const rdn = settings.counterDn.split(',')[0] ?? '';
  const cn = rdn.startsWith('cn=') ? rdn.slice(3) : 'fleet-login counters';
  try {
    await client.add(settings.counterDn, {
      objectClass: settings.objectClasses,
      cn,
      uidNumber: String(await startValue(client, settings, 'uidNumber')),
      gidNumber: String(await startValue(client, settings, 'gidNumber')),
    });
  } catch (error) {
    // Another writer created it first; its values are as good as ours.
    if (!(error instanceof AlreadyExistsError)) throw error;
  }
}

async function addCounterAttribute(
  client: Client,
  settings: CounterSettings,
  attribute: CounterAttribute,
): Promise<void> {
  try {
    const start = await startValue(client, settings, attribute);
    await client.modify(
      settings.counterDn,
      new Change({
        operation: 'add',
        modification: new Attribute({ type: attribute, values: [String(start)] }),
      }),
    );
  } catch (error) {
    if (!(error instanceof TypeOrValueExistsError)) throw error;
  }
}

/**
 * Returns the configured first number, or one above the highest number in use in this counter's range.
 * The range ends where the other counter's range starts, when that one starts higher.
 */
async function startValue(
  client: Client,
  settings: CounterSettings,
  attribute: CounterAttribute,
): Promise<number> {
  const first = settings.first[attribute];
  const otherFirst = settings.first[attribute === 'uidNumber' ? 'gidNumber' : 'uidNumber'];
  const end = otherFirst > first ? otherFirst : Number.POSITIVE_INFINITY;
  let highest = first - 1;
  for (const base of [settings.peopleBase, settings.groupsBase]) {
    const pages = client.searchPaginated(base, {
      scope: 'sub',
      filter: new OrFilter({
        filters: [
          new PresenceFilter({ attribute: 'uidNumber' }),
          new PresenceFilter({ attribute: 'gidNumber' }),
        ],
      }),
      attributes: ['uidNumber', 'gidNumber'],
      paged: { pageSize: settings.pageSize },
    });
    for await (const page of pages) {
      for (const entry of page.searchEntries) {
        for (const value of [integerValue(entry, 'uidNumber'), integerValue(entry, 'gidNumber')]) {
          if (value !== undefined && value > highest && value < end) highest = value;
        }
      }
    }
  }
  return highest + 1;
}

/**
 * Checks whether any person or group already carries this number as uidNumber or gidNumber. Both count,
 * because a new person's private group takes the uidNumber as its gidNumber. Groups of any class
 * count, since RFC 2307bis groups need not be posixGroup.
 */
async function numberInUse(client: Client, settings: CounterSettings, value: number): Promise<boolean> {
  const filter = new OrFilter({
    filters: [
      new EqualityFilter({ attribute: 'uidNumber', value: String(value) }),
      new EqualityFilter({ attribute: 'gidNumber', value: String(value) }),
    ],
  });
  for (const base of [settings.peopleBase, settings.groupsBase]) {
    const result = await client.search(base, { scope: 'sub', filter, attributes: ['1.1'], sizeLimit: 1 });
    if (result.searchEntries.length > 0) return true;
  }
  return false;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
