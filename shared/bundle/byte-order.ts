// Sorting strings in UTF-8 byte order, the order strcmp(3) and libnss-cache's bsearch use.

// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII.
const ASCII_ONLY = /^[\u0000-\u007f]*$/;

/** Compares strings by their UTF-8 bytes. Allocates; use sortByBytes for large arrays. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * Returns the items sorted by the UTF-8 bytes of their keys. For ASCII keys, JavaScript's string
 * order (UTF-16 code units) is the same as byte order, so the common case sorts without allocating;
 * otherwise each key is encoded once, not once per comparison.
 */
export function sortByBytes<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
  const keyed = items.map((item) => ({ item, key: keyOf(item) }));
  if (keyed.every((entry) => ASCII_ONLY.test(entry.key))) {
    keyed.sort((a, b) => compareCodeUnits(a.key, b.key));
  } else {
    const encoded = keyed.map((entry) => ({ ...entry, bytes: Buffer.from(entry.key) }));
    encoded.sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    return encoded.map((entry) => entry.item);
  }
  return keyed.map((entry) => entry.item);
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  if (a > b) return 1;
  return 0;
}
