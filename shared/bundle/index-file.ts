// Cache files and their libnss-cache index files: fixed-width lines of key NUL offset NUL padding.

import { compareBytes, type NssRecord } from './nss-maps.ts';

export interface IndexEntry {
  key: string;
  offset: number;
}

/** Joins records into a cache file and returns each record's byte offset. */
export function renderCache(records: readonly NssRecord[]): { cache: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  let offset = 0;
  const parts: string[] = [];
  for (const record of records) {
    offsets.push(offset);
    const line = `${record.line}\n`;
    parts.push(line);
    // Offsets count UTF-8 bytes: nsscache 0.50 counts characters, which breaks every index entry after a non-ASCII GECOS.
    offset += Buffer.byteLength(line);
  }
  return { cache: Buffer.from(parts.join('')), offsets };
}

/**
 * Builds an index in the format libnss-cache bisects: entries sorted by the bytes of the key
 * (strcmp order, so uid keys sort as text), every line padded with NULs to one width.
 */
export function renderIndex(entries: readonly IndexEntry[]): Buffer {
  if (entries.length === 0) return Buffer.alloc(0);
  const sorted = [...entries].sort((a, b) => compareBytes(a.key, b.key));
  const keyWidth = Math.max(...sorted.map((entry) => Buffer.byteLength(entry.key)));
  const offsetWidth = Math.max(...sorted.map((entry) => String(entry.offset).length));
  const lineWidth = keyWidth + offsetWidth + 3;

  const index = Buffer.alloc(sorted.length * lineWidth, 0);
  sorted.forEach((entry, row) => {
    const start = row * lineWidth;
    const written = index.write(entry.key, start);
    index.write(String(entry.offset), start + written + 1, 'latin1');
    index[start + lineWidth - 1] = 0x0a;
  });
  return index;
}

/** Reads an index the way libnss-cache does: line width from the first line, key and offset up to NULs. */
export function parseIndex(index: Buffer): IndexEntry[] {
  if (index.length === 0) return [];
  const lineWidth = index.indexOf(0x0a) + 1;
  if (lineWidth === 0 || index.length % lineWidth !== 0)
    throw new Error('index lines are not all the same width');
  const entries: IndexEntry[] = [];
  for (let start = 0; start < index.length; start += lineWidth) {
    const line = index.subarray(start, start + lineWidth);
    const keyEnd = line.indexOf(0);
    const offsetEnd = line.indexOf(0, keyEnd + 1);
    if (keyEnd < 0 || offsetEnd < 0 || line[lineWidth - 1] !== 0x0a)
      throw new Error(`index line ${start / lineWidth} is malformed`);
    entries.push({
      key: line.subarray(0, keyEnd).toString('utf8'),
      offset: Number(line.subarray(keyEnd + 1, offsetEnd).toString('latin1')),
    });
  }
  return entries;
}

/** Looks a key up by binary search, as libnss-cache's bsearch(3) with strcmp does. */
export function lookupIndex(index: Buffer, key: string): number | undefined {
  if (index.length === 0) return undefined;
  const lineWidth = index.indexOf(0x0a) + 1;
  const wanted = Buffer.from(key);
  let low = 0;
  let high = index.length / lineWidth - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const start = middle * lineWidth;
    const keyEnd = index.indexOf(0, start);
    const order = Buffer.compare(index.subarray(start, keyEnd), wanted);
    if (order === 0) {
      const offsetEnd = index.indexOf(0, keyEnd + 1);
      return Number(index.subarray(keyEnd + 1, offsetEnd).toString('latin1'));
    }
    if (order < 0) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}
