import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_AUTHORIZED_KEY_LINE_BYTES,
  parseAuthorizedKey,
  parseAuthorizedKeys,
} from '../../shared/bundle/ssh-key.ts';
import { ValidationError } from '../../shared/errors.ts';

const run = promisify(execFile);

/** One public key line per generated key, keyed by a short label. */
const generated = new Map<string, string>();
let folder: string;

/** Encodes fields in SSH wire format: each a uint32 length and the bytes. */
function wire(...fields: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    fields.flatMap((field) => {
      const bytes = Buffer.from(field);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** Splits a public key line into its type, decoded blob and the wire fields after the type. */
function fieldsOf(line: string): { type: string; blob: Buffer; fields: Buffer[] } {
  const [type = '', base64 = ''] = line.split(' ');
  const blob = Buffer.from(base64, 'base64');
  const fields: Buffer[] = [];
  for (let offset = 0; offset < blob.length; ) {
    const length = blob.readUInt32BE(offset);
    fields.push(blob.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return { type, blob, fields: fields.slice(1) };
}

function keyLine(type: string, blob: Buffer, comment?: string): string {
  return [type, blob.toString('base64'), comment].filter(Boolean).join(' ');
}

function line(label: string): string {
  const value = generated.get(label);
  if (!value) throw new Error(`no generated key ${label}`);
  return value;
}

async function generate(label: string, args: string[]): Promise<void> {
  const path = join(folder, label);
  await run('ssh-keygen', ['-q', '-N', '', '-C', `${label}@example.test`, '-f', path, ...args]);
  generated.set(label, (await readFile(`${path}.pub`, 'utf8')).trim());
}

/** Fingerprints of every key in the file, in file order, as `ssh-keygen -lf` prints them. */
async function sshKeygenFingerprints(text: string): Promise<string[]> {
  const path = join(folder, `authorized_keys-${generated.size}-${Math.random().toString(36).slice(2)}`);
  await writeFile(path, text);
  const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', path]);
  return stdout
    .trim()
    .split('\n')
    .map((output) => output.split(' ')[1] ?? '');
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'ssh-key-test-'));
  await Promise.all([
    generate('ed25519', ['-t', 'ed25519']),
    generate('ecdsa256', ['-t', 'ecdsa', '-b', '256']),
    generate('ecdsa384', ['-t', 'ecdsa', '-b', '384']),
    generate('ecdsa521', ['-t', 'ecdsa', '-b', '521']),
    generate('rsa2048', ['-t', 'rsa', '-b', '2048']),
    generate('rsa3072', ['-t', 'rsa', '-b', '3072']),
    generate('rsa1024', ['-t', 'rsa', '-b', '1024']),
  ]);

  // ssh-keygen cannot create security-key types without a FIDO device, but it reads their public
  // halves, so build them from the software keys: the same key followed by an application string.
  const ed25519 = fieldsOf(line('ed25519'));
  generated.set(
    'sk-ed25519',
    keyLine(
      'sk-ssh-ed25519@openssh.com',
      wire('sk-ssh-ed25519@openssh.com', ed25519.fields[0] ?? '', 'ssh:'),
      'sk-ed25519@example.test',
    ),
  );
  const ecdsa = fieldsOf(line('ecdsa256'));
  generated.set(
    'sk-ecdsa256',
    keyLine(
      'sk-ecdsa-sha2-nistp256@openssh.com',
      wire('sk-ecdsa-sha2-nistp256@openssh.com', 'nistp256', ecdsa.fields[1] ?? '', 'ssh:'),
      'sk-ecdsa256@example.test',
    ),
  );
});

afterAll(async () => {
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('parseAuthorizedKey', () => {
  const validLabels = [
    ['ed25519', 'ssh-ed25519'],
    ['ecdsa256', 'ecdsa-sha2-nistp256'],
    ['ecdsa384', 'ecdsa-sha2-nistp384'],
    ['ecdsa521', 'ecdsa-sha2-nistp521'],
    ['rsa2048', 'ssh-rsa'],
    ['rsa3072', 'ssh-rsa'],
    ['sk-ed25519', 'sk-ssh-ed25519@openssh.com'],
    ['sk-ecdsa256', 'sk-ecdsa-sha2-nistp256@openssh.com'],
  ] as const;

  it.each(validLabels)('accepts a %s key', async (label, type) => {
    const text = line(label);
    const [expectedFingerprint] = await sshKeygenFingerprints(`${text}\n`);

    const key = parseAuthorizedKey(text);

    expect(key.type).toBe(type);
    expect(key.blob.equals(Buffer.from(text.split(' ')[1] ?? '', 'base64'))).toBe(true);
    expect(key.comment).toBe(`${label}@example.test`);
    expect(key.options).toBeUndefined();
    expect(key.line).toBe(text);
    expect(key.fingerprint).toBe(expectedFingerprint);
  });

  it('keeps options with quoted spaces and escaped quotes', async () => {
    const options = 'from="10.0.0.0/8,192.168.1.0/24",command="echo \\"a, b\\"",No-Pty,restrict';
    const text = `${options} ${line('ed25519')}`;
    const [expectedFingerprint] = await sshKeygenFingerprints(`${text}\n`);

    const key = parseAuthorizedKey(text);

    expect(key.options).toBe(options);
    expect(key.type).toBe('ssh-ed25519');
    expect(key.comment).toBe('ed25519@example.test');
    expect(key.line).toBe(text);
    expect(key.fingerprint).toBe(expectedFingerprint);
  });

  it('normalises tabs and runs of spaces between fields', () => {
    const [type, base64] = line('ecdsa256').split(' ');
    const key = parseAuthorizedKey(`  no-pty\t${type}  ${base64}\tops  on-call key  `);

    expect(key.options).toBe('no-pty');
    expect(key.comment).toBe('ops on-call key');
    expect(key.line).toBe(`no-pty ${type} ${base64} ops on-call key`);
  });

  it('accepts a key without a comment', () => {
    const [type, base64] = line('ed25519').split(' ');
    const key = parseAuthorizedKey(`${type} ${base64}`);

    expect(key.comment).toBeUndefined();
    expect(key.line).toBe(`${type} ${base64}`);
  });

  // Each invalid line is built from a generated key, so every case is otherwise a valid key line.
  const invalidCases: [string, () => string, RegExp][] = [
    ['garbage', () => 'this is not a key', /neither a supported key type nor an authorized_keys option/],
    ['an empty line', () => '   ', /empty/],
    [
      'base64 cut short mid-quantum',
      () => line('ed25519').split(' ').slice(0, 2).join(' ').slice(0, -3),
      /not a multiple of 4/,
    ],
    ['base64 cut short on a quantum', () => cutBlob('ed25519', 8), /ends inside its Ed25519 public key/],
    ['an RSA blob cut short', () => cutBlob('rsa2048', 40), /ends inside its RSA modulus/],
    ['characters outside base64', () => 'ssh-ed25519 AAAA$$$$', /not valid base64/],
    ['no base64 after the type', () => 'ssh-ed25519', /no base64/],
    [
      'a type that mismatches the blob',
      () => `ssh-rsa ${line('ed25519').split(' ')[1]}`,
      /type is ssh-rsa but the key data contains a "ssh-ed25519" key/,
    ],
    ['a CR inside the comment', () => `${line('ed25519')}\rsecond`, /U\+000D/],
    ['an LF inside the line', () => `${line('ed25519')}\nssh-ed25519 AAAA`, /U\+000A/],
    ['a NUL in the comment', () => `${line('ed25519')}\u0000x`, /U\+0000/],
    ['an escape sequence in the comment', () => `${line('ed25519')} \u001b[31mred`, /U\+001B/],
    ['a right-to-left override in the comment', () => `${line('ed25519')} \u202Eeman`, /U\+202E/],
    [
      'a line that is too long',
      () => `${line('ed25519')} ${'x'.repeat(MAX_AUTHORIZED_KEY_LINE_BYTES)}`,
      /bytes long; the maximum is 16384/,
    ],
    [
      'an unknown type',
      () => keyLine('ssh-dss', wire('ssh-dss', Buffer.alloc(128, 1))),
      /key type "ssh-dss" is not supported/,
    ],
    ['a short RSA modulus', () => line('rsa1024'), /RSA modulus has 1024 bits; the minimum is 2048/],
    ['an even RSA exponent', () => rsaWithExponent(Buffer.from([0x01, 0x00, 0x00])), /odd and at least 3/],
    ['a negative RSA exponent', () => rsaWithExponent(Buffer.from([0x81])), /exponent is negative/],
    [
      'an ECDSA curve name mismatch',
      () => ecdsaWithCurve('nistp384'),
      /names curve nistp256 but the key data names "nistp384"/,
    ],
    ['an ECDSA point off its curve', () => ecdsaOffCurve(), /nistp256 ECDSA public key is not a valid key/],
    ['a compressed ECDSA point', () => ecdsaCompressed(), /not an uncompressed point of 65 bytes/],
    [
      'an Ed25519 key of 31 bytes',
      () => keyLine('ssh-ed25519', wire('ssh-ed25519', Buffer.alloc(31, 7))),
      /31 bytes; expected 32/,
    ],
    ['bytes after the key', () => withTrailingBytes('ed25519'), /unexpected bytes after the key/],
    [
      'a security key without its application',
      () =>
        keyLine(
          'sk-ssh-ed25519@openssh.com',
          wire('sk-ssh-ed25519@openssh.com', fieldsOf(line('ed25519')).fields[0] ?? ''),
        ),
      /ends inside its security key application/,
    ],
    [
      'an unknown option',
      () => `no-such-option,no-pty ${line('ed25519')}`,
      /unsupported option "no-such-option"/,
    ],
    [
      'an unterminated quote',
      () => `command="echo hi ${line('ed25519')}`,
      /option command has no closing quote/,
    ],
    [
      'an unquoted option value',
      () => `from=10.0.0.1 ${line('ed25519')}`,
      /option from needs a double-quoted value/,
    ],
    ['a value on a flag option', () => `no-pty="yes" ${line('ed25519')}`, /option no-pty takes no value/],
    ['options without a key', () => 'no-pty,restrict', /options but no key/],
    [
      'junk after a quoted value',
      () => `from="10.0.0.1"x ${line('ed25519')}`,
      /invalid option syntax at column 16/,
    ],
  ];

  it.each(invalidCases)('rejects %s', (_name, build, reason) => {
    const text = build();
    expect(() => parseAuthorizedKey(text)).toThrow(ValidationError);
    expect(() => parseAuthorizedKey(text)).toThrow(reason);
  });
});

describe('parseAuthorizedKeys', () => {
  it('splits on LF and CRLF and skips blank lines and comments', async () => {
    const text = `\uFEFF# emergency keys\r\n${line('ed25519')}\r\n\r\n   \n  # indented comment\n${line('rsa2048')}\n${line('sk-ecdsa256')}`;
    const expected = await sshKeygenFingerprints(
      `${line('ed25519')}\n${line('rsa2048')}\n${line('sk-ecdsa256')}\n`,
    );

    const { keys, invalid } = parseAuthorizedKeys(text);

    expect(invalid).toEqual([]);
    expect(keys.map((key) => key.fingerprint)).toEqual(expected);
    expect(keys.map((key) => key.line)).toEqual([line('ed25519'), line('rsa2048'), line('sk-ecdsa256')]);
  });

  it('returns invalid lines with their line numbers and reasons', () => {
    const cut = line('ecdsa384').slice(0, 60);
    const text = [
      line('ecdsa384'),
      'garbage line here',
      cut,
      `${line('ed25519')}\rtrailer`,
      line('ecdsa521'),
    ].join('\n');

    const { keys, invalid } = parseAuthorizedKeys(text);

    expect(keys.map((key) => key.type)).toEqual(['ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521']);
    expect(invalid.map((entry) => entry.lineNumber)).toEqual([2, 3, 4]);
    expect(invalid.map((entry) => entry.line)).toEqual([
      'garbage line here',
      cut,
      `${line('ed25519')}\rtrailer`,
    ]);
    expect(invalid[0]?.reason).toMatch(/neither a supported key type/);
    expect(invalid[1]?.reason).toMatch(/cut short/);
    expect(invalid[2]?.reason).toMatch(/U\+000D/);
  });

  it('returns nothing for an empty text', () => {
    expect(parseAuthorizedKeys('')).toEqual({ keys: [], invalid: [] });
  });
});

/** Builds a line from a generated key whose blob loses its last `bytes` bytes, re-encoded as clean base64. */
function cutBlob(label: string, bytes: number): string {
  const { type, blob } = fieldsOf(line(label));
  return keyLine(type, blob.subarray(0, blob.length - bytes));
}

function withTrailingBytes(label: string): string {
  const { type, blob } = fieldsOf(line(label));
  return keyLine(type, Buffer.concat([blob, wire('extra')]));
}

function rsaWithExponent(exponent: Buffer): string {
  const { fields } = fieldsOf(line('rsa2048'));
  return keyLine('ssh-rsa', wire('ssh-rsa', exponent, fields[1] ?? ''));
}

function ecdsaWithCurve(curve: string): string {
  const { fields } = fieldsOf(line('ecdsa256'));
  return keyLine('ecdsa-sha2-nistp256', wire('ecdsa-sha2-nistp256', curve, fields[1] ?? ''));
}

function ecdsaOffCurve(): string {
  const { fields } = fieldsOf(line('ecdsa256'));
  const point = Buffer.from(fields[1] ?? '');
  point[point.length - 1] = (point[point.length - 1] ?? 0) ^ 1;
  return keyLine('ecdsa-sha2-nistp256', wire('ecdsa-sha2-nistp256', 'nistp256', point));
}

function ecdsaCompressed(): string {
  const { fields } = fieldsOf(line('ecdsa256'));
  const point = fields[1] ?? Buffer.alloc(0);
  const compressed = Buffer.concat([Buffer.from([0x02 + ((point[64] ?? 0) & 1)]), point.subarray(1, 33)]);
  return keyLine('ecdsa-sha2-nistp256', wire('ecdsa-sha2-nistp256', 'nistp256', compressed));
}
