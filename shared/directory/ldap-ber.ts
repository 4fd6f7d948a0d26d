// BER decoding of the LDAP responses a snapshot reads: search entries, results and the paged-results cookie.

import type { Entry } from 'ldapts';
import { EXACT_NAMES } from './ldap-entries.ts';

const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
const TAG_CONTROLS = 0xa0;

/** The outcome of a request: LDAPResult fields and, for searches, the paged-results cookie. */
export interface Result {
  code: number;
  diagnostic: string;
  cookie: Buffer;
  references: number;
}

/** A read position in a BER buffer; LDAP uses definite lengths only (RFC 4511 section 5.1). */
export class Cursor {
  constructor(
    readonly buffer: Buffer,
    public position: number,
  ) {}

  tag(): number {
    const tag = this.buffer[this.position];
    if (tag === undefined) throw new Error('truncated LDAP message');
    this.position += 1;
    return tag;
  }

  expect(tag: number): void {
    const found = this.tag();
    if (found !== tag)
      throw new Error(`expected BER tag 0x${tag.toString(16)}, found 0x${found.toString(16)}`);
  }

  length(): number {
    const first = this.tag();
    if (first < 0x80) return first;
    let length = 0;
    for (let count = first & 0x7f; count > 0; count--) length = length * 256 + this.tag();
    return length;
  }

  integer(tag: number): number {
    this.expect(tag);
    const length = this.length();
    const value = length === 0 ? 0 : this.buffer.readIntBE(this.position, length);
    this.position += length;
    return value;
  }

  octets(): { start: number; end: number } {
    this.expect(0x04);
    const length = this.length();
    const start = this.position;
    this.position = start + length;
    return { start, end: start + length };
  }

  /** An OCTET STRING decoded as UTF-8, without the intermediate object octets() returns. */
  string(): string {
    this.expect(0x04);
    const length = this.length();
    const start = this.position;
    this.position = start + length;
    return this.buffer.toString('utf8', start, start + length);
  }
}

/** Offset just past the LDAPMessage starting at `offset`, or undefined when its header is incomplete. */
export function messageEnd(data: Buffer, offset: number): number | undefined {
  if (data.length < offset + 2) return undefined;
  const first = data[offset + 1] ?? 0;
  if (first < 0x80) return offset + 2 + first;
  const count = first & 0x7f;
  if (data.length < offset + 2 + count) return undefined;
  let length = 0;
  for (let index = 0; index < count; index++) length = length * 256 + (data[offset + 2 + index] ?? 0);
  return offset + 2 + count + length;
}

/**
 * SearchResultEntry into ldapts's Entry shape (one value as a string, several as an array), with
 * attribute names spelled as requested and marked so, whatever case the server used.
 */
export function decodeEntry(cursor: Cursor, end: number, names: ReadonlyMap<string, string>): Entry {
  const entry: Entry & { [EXACT_NAMES]?: true } = { dn: cursor.string() };
  entry[EXACT_NAMES] = true;
  cursor.expect(0x30);
  cursor.length();
  while (cursor.position < end) {
    cursor.expect(0x30);
    cursor.length();
    const sent = cursor.string();
    const type = names.get(sent) ?? names.get(sent.toLowerCase()) ?? sent;
    cursor.expect(0x31);
    const valuesEnd = cursor.length() + cursor.position;
    // Most attributes hold one value; the array is made only for the second one.
    let value: string | string[] = cursor.position < valuesEnd ? cursor.string() : [];
    while (cursor.position < valuesEnd) {
      if (!Array.isArray(value)) value = [value];
      value.push(cursor.string());
    }
    entry[type] = value;
  }
  return entry;
}

export function decodeResult(cursor: Cursor, end: number, references: number): Result {
  const code = cursor.integer(0x0a);
  cursor.octets();
  const diagnostic = cursor.string();
  cursor.position = end;
  return { code, diagnostic, cookie: Buffer.alloc(0), references };
}

/** Reads the cookie of a paged-results response control, which is empty after the last page. */
export function pagedCookie(cursor: Cursor, end: number): Buffer {
  if (cursor.tag() !== TAG_CONTROLS) return Buffer.alloc(0);
  cursor.length();
  while (cursor.position < end) {
    cursor.expect(0x30);
    const controlEnd = cursor.length() + cursor.position;
    const oid = cursor.string();
    if (cursor.buffer[cursor.position] === 0x01) cursor.integer(0x01);
    if (oid !== PAGED_RESULTS_OID || cursor.position >= controlEnd) {
      cursor.position = controlEnd;
      continue;
    }
    const { start } = cursor.octets();
    const value = new Cursor(cursor.buffer, start);
    value.expect(0x30);
    value.length();
    value.integer(0x02);
    const cookie = value.octets();
    return Buffer.from(cursor.buffer.subarray(cookie.start, cookie.end));
  }
  return Buffer.alloc(0);
}
