// Cache files and their libnss-cache index files: fixed-width lines of key NUL offset NUL padding.

import { sortByBytes } from './byte-order.ts';
import type { NssRecord } from './nss-maps.ts';

export interface IndexEntry {
  key: string;
  offset: number;
}

/** Joins records into a cache file and returns each record's byte offset. */
export function renderCache(records: readonly NssRecord[]): { cache: Buffer; offsets: number[] } {
  return renderLines(records.map((record) => record.line));
}

/** Joins lines (without their newline) into a cache file and returns each line's byte offset. */
export function renderLines(lines: readonly string[]): { cache: Buffer; offsets: number[] } {
  const offsets = new Array<number>(lines.length);
  let offset = 0;
  for (let row = 0; row < lines.length; row++) {
    offsets[row] = offset;
    // Offsets count UTF-8 bytes: nsscache 0.50 counts characters, which breaks every index entry after a non-ASCII GECOS.
    offset += Buffer.byteLength(lines[row] ?? '') + 1;
  }
  return { cache: Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`), offsets };
}

/**
 * Builds an index in the format libnss-cache bisects: entries sorted by the bytes of the key
 * (strcmp order, so uid keys sort as text), every line padded with NULs to one width. Callers
 * that pass `sorted` hand over entries already in byte order, which are then only laid out.
 */
export function renderIndex(entries: readonly IndexEntry[], options: { sorted?: boolean } = {}): Buffer {
  if (entries.length === 0) return Buffer.alloc(0);
  const sorted = options.sorted ? entries : sortByBytes(entries, (entry) => entry.key);
  let keyWidth = 0;
  let maxOffset = 0;
  for (const entry of sorted) {
    keyWidth = Math.max(keyWidth, Buffer.byteLength(entry.key));
    maxOffset = Math.max(maxOffset, entry.offset);
  }
  const lineWidth = keyWidth + decimalDigits(maxOffset) + 3;

  // Each line: key, NUL, offset, NULs up to the width (at least one), newline. alloc() zero-fills the NULs.
  const index = Buffer.alloc(sorted.length * lineWidth);
  let start = 0;
  for (const entry of sorted) {
    const keyLength = index.write(entry.key, start);
    writeDecimal(index, start + keyLength + 1, entry.offset);
    index[start + lineWidth - 1] = 0x0a;
    start += lineWidth;
  }
  return index;
}

function decimalDigits(value: number): number {
  let digits = 1;
  for (let rest = Math.floor(value / 10); rest > 0; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** Writes a non-negative integer as ASCII digits; faster than formatting a string per entry. */
function writeDecimal(target: Buffer, position: number, value: number): void {
  let rest = value;
  for (let at = position + decimalDigits(value) - 1; at >= position; at--) {
    target[at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
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
  // An index without a newline, or with lines of unequal width, cannot be bisected.
  if (lineWidth === 0 || index.length % lineWidth !== 0) return undefined;
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
