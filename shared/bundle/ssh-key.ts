// OpenSSH public keys in authorized_keys form: parsing, validation and SHA256 fingerprints.

import { createHash } from 'node:crypto';
import { ValidationError } from '../errors.ts';
import { checkKeyBlob, SUPPORTED_KEY_TYPES } from './ssh-key-blob.ts';

/** Longest accepted authorized_keys line, in UTF-8 bytes. A 16384-bit RSA key needs about 2.8 KiB. */
export const MAX_AUTHORIZED_KEY_LINE_BYTES = 16 * 1024;

export interface ParsedKey {
  /** authorized_keys options as written, e.g. `from="10.0.0.0/8",no-pty`. */
  options?: string;
  type: string;
  /** The decoded base64 key blob. */
  blob: Buffer;
  comment?: string;
  /** Normalised single line: `[options ]type base64[ comment]`, fields separated by one space. */
  line: string;
  /** `SHA256:` and the unpadded base64 of the blob's SHA-256, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export interface InvalidKeyLine {
  /** 1-based line number in the parsed text. */
  lineNumber: number;
  line: string;
  reason: string;
}

/** Options listed in sshd(8) of OpenSSH 9.2, whose keywords are case-insensitive. VALUE_OPTIONS take a double-quoted value. */
const FLAG_OPTIONS = new Set([
  'agent-forwarding',
  'cert-authority',
  'no-agent-forwarding',
  'no-port-forwarding',
  'no-pty',
  'no-user-rc',
  'no-x11-forwarding',
  'port-forwarding',
  'pty',
  'no-touch-required',
  'verify-required',
  'restrict',
  'user-rc',
  'x11-forwarding',
]);
const VALUE_OPTIONS = new Set([
  'command',
  'environment',
  'expiry-time',
  'from',
  'permitlisten',
  'permitopen',
  'principals',
  'tunnel',
]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const WHITESPACE_RUN = /[ \t]+/;

/** Parses and validates one authorized_keys line. Throws ValidationError saying why the line is invalid. */
export function parseAuthorizedKey(line: string): ParsedKey {
  // 1. Checks on the raw text.
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes > MAX_AUTHORIZED_KEY_LINE_BYTES) {
    throw new ValidationError(
      `the line is ${bytes} bytes long; the maximum is ${MAX_AUTHORIZED_KEY_LINE_BYTES}`,
      'line',
    );
  }
  const forbidden = findForbiddenCharacter(line);
  if (forbidden) {
    const codePoint = forbidden.codePoint.toString(16).toUpperCase().padStart(4, '0');
    throw new ValidationError(
      `the line contains control character U+${codePoint} at column ${forbidden.column}`,
      'line',
    );
  }
  const text = line.replace(/^[ \t]+|[ \t]+$/g, '');
  if (text === '') throw new ValidationError('the line is empty', 'line');

  // 2. Options, present when the first field is not a key type.
  const { options, rest } = splitOptions(text);

  // 3. Key type, base64 blob and the optional comment.
  const [type = '', base64 = '', ...commentWords] = rest.split(WHITESPACE_RUN);
  if (!SUPPORTED_KEY_TYPES.includes(type)) throw unsupportedType(type);
  const blob = decodeBase64(base64);
  checkKeyBlob(type, blob);

  const comment = commentWords.length > 0 ? commentWords.join(' ') : undefined;
  const fields = [options, type, base64, comment].filter((field) => field !== undefined);
  return {
    ...(options !== undefined && { options }),
    type,
    blob,
    ...(comment !== undefined && { comment }),
    line: fields.join(' '),
    fingerprint: fingerprintOf(blob),
  };
}

/**
 * Parses an authorized_keys file whose lines end with LF or CRLF, skipping blank lines and `#` comments.
 * Invalid lines are returned with their reason instead of thrown, so one bad line cannot hide the rest.
 */
export function parseAuthorizedKeys(text: string): { keys: ParsedKey[]; invalid: InvalidKeyLine[] } {
  const keys: ParsedKey[] = [];
  const invalid: InvalidKeyLine[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [index, line] of lines.entries()) {
    if (/^[ \t]*(#|$)/.test(line)) continue;
    try {
      keys.push(parseAuthorizedKey(line));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      invalid.push({ lineNumber: index + 1, line, reason: error.message });
    }
  }
  return { keys, invalid };
}

/** Returns `SHA256:` and the unpadded base64 SHA-256 of a key blob, the form `ssh-keygen -l` prints. */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Finds the first C0 or C1 control other than tab, DEL, Unicode line or paragraph separator, or
 * bidirectional formatting character. None belongs in a key line, and the bidirectional ones could
 * make a comment shown in an alert read differently from its bytes.
 */
function findForbiddenCharacter(text: string): { codePoint: number; column: number } | undefined {
  for (let index = 0; index < text.length; index += 1) {
    const codePoint = text.charCodeAt(index);
    const control = (codePoint < 0x20 && codePoint !== 0x09) || (codePoint >= 0x7f && codePoint <= 0x9f);
    const separatorOrBidi =
      codePoint === 0x200e ||
      codePoint === 0x200f ||
      (codePoint >= 0x2028 && codePoint <= 0x202e) ||
      (codePoint >= 0x2066 && codePoint <= 0x2069);
    if (control || separatorOrBidi) return { codePoint, column: index + 1 };
  }
  return undefined;
}

function splitOptions(text: string): { options?: string; rest: string } {
  const [first = '', second = ''] = text.split(WHITESPACE_RUN, 2);
  if (SUPPORTED_KEY_TYPES.includes(first)) return { rest: text };

  // Every key blob starts with a 4-byte length below 2^24, which is "AAAA" in base64. A first field
  // followed by such a field is a key type, not options, so name it as an unsupported type.
  const firstOptionName = (/^[A-Za-z0-9-]*/.exec(first)?.[0] ?? '').toLowerCase();
  const isOption = FLAG_OPTIONS.has(firstOptionName) || VALUE_OPTIONS.has(firstOptionName);
  if (!isOption && second.startsWith('AAAA')) throw unsupportedType(first);
  // A first field with `=` or `,` has option syntax, so scanOptions can name the option at fault.
  if (!isOption && !/[=,]/.test(first)) {
    throw new ValidationError(
      `the line starts with ${JSON.stringify(first.slice(0, 40))}, which is neither a supported key type nor an authorized_keys option`,
      'type',
    );
  }

  const end = scanOptions(text);
  return { options: text.slice(0, end), rest: text.slice(end).replace(/^[ \t]+/, '') };
}

/** Returns the index just past the options. Throws ValidationError naming the first malformed option. */
function scanOptions(text: string): number {
  let index = 0;
  for (;;) {
    const name = /^[A-Za-z0-9-]*/.exec(text.slice(index))?.[0] ?? '';
    if (name === '') throw new ValidationError(`invalid option syntax at column ${index + 1}`, 'options');
    const lowerName = name.toLowerCase();
    index += name.length;

    if (VALUE_OPTIONS.has(lowerName)) {
      if (!text.startsWith('="', index)) {
        throw new ValidationError(
          `option ${name} needs a double-quoted value, as in ${name}="..."`,
          'options',
        );
      }
      index = closingQuoteIndex(text, index + 2, name) + 1;
    } else if (!FLAG_OPTIONS.has(lowerName)) {
      throw new ValidationError(`unsupported option ${JSON.stringify(name)}`, 'options');
    } else if (text[index] === '=') {
      throw new ValidationError(`option ${name} takes no value`, 'options');
    }

    const next = text[index];
    if (next === ',') {
      index += 1;
      continue;
    }
    if (next === ' ' || next === '\t') return index;
    if (next === undefined)
      throw new ValidationError('the line has options but no key after them', 'options');
    throw new ValidationError(`invalid option syntax at column ${index + 1}`, 'options');
  }
}

/** Finds the quote that ends an option value. A backslash before a quote escapes it, as sshd(8) documents. */
function closingQuoteIndex(text: string, start: number, name: string): number {
  for (let index = start; index < text.length; index += 1) {
    if (text[index] === '\\' && text[index + 1] === '"') index += 1;
    else if (text[index] === '"') return index;
  }
  throw new ValidationError(`the value of option ${name} has no closing quote`, 'options');
}

function unsupportedType(type: string): ValidationError {
  const description = type === '' ? 'is missing' : `${JSON.stringify(type)} is not supported`;
  return new ValidationError(
    `the key type ${description}; expected one of ${SUPPORTED_KEY_TYPES.join(', ')}`,
    'type',
  );
}

function decodeBase64(base64: string): Buffer {
  if (base64 === '') throw new ValidationError('the key has no base64 data after its type', 'key');
  if (!BASE64.test(base64)) throw new ValidationError('the key data is not valid base64', 'key');
  if (base64.length % 4 !== 0) {
    throw new ValidationError(
      `the key data has ${base64.length} base64 characters, not a multiple of 4, so it may be cut short`,
      'key',
    );
  }
  return Buffer.from(base64, 'base64');
}
