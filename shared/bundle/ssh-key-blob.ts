// SSH public key blobs: the wire structure of each key type, and the key material checked by OpenSSL.

import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { ValidationError } from '../errors.ts';

/** Minimum RSA modulus size in bits. Emergency and login keys grant root-level access, so weak keys are rejected. */
export const MIN_RSA_MODULUS_BITS = 2048;

/** Maximum RSA modulus size in bits, the largest that `ssh-keygen` of OpenSSH 9.2 generates. */
export const MAX_RSA_MODULUS_BITS = 16_384;

type Curve = 'nistp256' | 'nistp384' | 'nistp521';

interface KeyShape {
  algorithm: 'ed25519' | 'ecdsa' | 'rsa';
  curve?: Curve;
  /** FIDO security-key types append an application string to the public key. */
  securityKey: boolean;
}

const KEY_SHAPES: ReadonlyMap<string, KeyShape> = new Map([
  ['ssh-ed25519', { algorithm: 'ed25519', securityKey: false }],
  ['sk-ssh-ed25519@openssh.com', { algorithm: 'ed25519', securityKey: true }],
  ['ecdsa-sha2-nistp256', { algorithm: 'ecdsa', curve: 'nistp256', securityKey: false }],
  ['ecdsa-sha2-nistp384', { algorithm: 'ecdsa', curve: 'nistp384', securityKey: false }],
  ['ecdsa-sha2-nistp521', { algorithm: 'ecdsa', curve: 'nistp521', securityKey: false }],
  ['sk-ecdsa-sha2-nistp256@openssh.com', { algorithm: 'ecdsa', curve: 'nistp256', securityKey: true }],
  ['ssh-rsa', { algorithm: 'rsa', securityKey: false }],
]);

/** The key types this module accepts, in the spelling authorized_keys uses. */
export const SUPPORTED_KEY_TYPES: readonly string[] = [...KEY_SHAPES.keys()];

const CURVES: Record<Curve, { jwkCurve: string; coordinateBytes: number }> = {
  nistp256: { jwkCurve: 'P-256', coordinateBytes: 32 },
  nistp384: { jwkCurve: 'P-384', coordinateBytes: 48 },
  nistp521: { jwkCurve: 'P-521', coordinateBytes: 66 },
};

const ED25519_KEY_BYTES = 32;

/**
 * Checks that a decoded key blob is a well-formed key of `type`, one of SUPPORTED_KEY_TYPES.
 * Throws ValidationError naming the part that is wrong.
 */
export function checkKeyBlob(type: string, blob: Buffer): void {
  const shape = KEY_SHAPES.get(type);
  if (!shape) throw new ValidationError(`the key type ${JSON.stringify(type)} is not supported`, 'type');
  const reader = new WireReader(blob);
  const blobType = reader.readString('key type').toString('latin1');
  if (blobType !== type) {
    throw new ValidationError(
      `the key type is ${type} but the key data contains a ${JSON.stringify(blobType)} key`,
      'key',
    );
  }

  if (shape.algorithm === 'ed25519') checkEd25519(reader);
  else if (shape.algorithm === 'ecdsa' && shape.curve) checkEcdsa(reader, shape.curve);
  else checkRsa(reader);

  if (shape.securityKey) reader.readString('security key application');
  if (!reader.atEnd()) {
    throw new ValidationError(`the ${type} key data has unexpected bytes after the key`, 'key');
  }
}

function checkEd25519(reader: WireReader): void {
  const key = reader.readString('Ed25519 public key');
  if (key.length !== ED25519_KEY_BYTES) {
    throw new ValidationError(
      `the Ed25519 public key is ${key.length} bytes; expected ${ED25519_KEY_BYTES}`,
      'key',
    );
  }
  importJwk({ kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, 'Ed25519');
}

function checkEcdsa(reader: WireReader, curve: Curve): void {
  const curveName = reader.readString('curve name').toString('latin1');
  if (curveName !== curve) {
    throw new ValidationError(
      `the key type names curve ${curve} but the key data names ${JSON.stringify(curveName)}`,
      'key',
    );
  }
  const point = reader.readString('ECDSA public point');
  const { jwkCurve, coordinateBytes } = CURVES[curve];
  // Only the uncompressed form (0x04 || x || y) appears in SSH keys.
  if (point.length !== 1 + 2 * coordinateBytes || point[0] !== 0x04) {
    throw new ValidationError(
      `the ${curve} public point is not an uncompressed point of ${1 + 2 * coordinateBytes} bytes`,
      'key',
    );
  }
  const x = point.subarray(1, 1 + coordinateBytes).toString('base64url');
  const y = point.subarray(1 + coordinateBytes).toString('base64url');
  importJwk({ kty: 'EC', crv: jwkCurve, x, y }, `${curve} ECDSA`);
}

function checkRsa(reader: WireReader): void {
  const exponent = reader.readMpint('RSA public exponent');
  const modulus = reader.readMpint('RSA modulus');
  const bits = bitLength(modulus);
  if (bits < MIN_RSA_MODULUS_BITS) {
    throw new ValidationError(
      `the RSA modulus has ${bits} bits; the minimum is ${MIN_RSA_MODULUS_BITS}`,
      'key',
    );
  }
  if (bits > MAX_RSA_MODULUS_BITS) {
    throw new ValidationError(
      `the RSA modulus has ${bits} bits; the maximum is ${MAX_RSA_MODULUS_BITS}`,
      'key',
    );
  }
  const lastExponentByte = exponent[exponent.length - 1] ?? 0;
  if (bitLength(exponent) < 2 || lastExponentByte % 2 === 0) {
    throw new ValidationError('the RSA public exponent must be odd and at least 3', 'key');
  }
  importJwk({ kty: 'RSA', n: modulus.toString('base64url'), e: exponent.toString('base64url') }, 'RSA');
}

/** Imports the key with OpenSSL, which rejects invalid key material such as an ECDSA point off its curve. */
function importJwk(jwk: JsonWebKey, name: string): void {
  try {
    createPublicKey({ key: jwk, format: 'jwk' });
  } catch (error) {
    throw new ValidationError(`the ${name} public key is not a valid key`, 'key', { cause: error });
  }
}

/** Bits in an unsigned big-endian integer without leading zero bytes. */
function bitLength(magnitude: Buffer): number {
  const first = magnitude[0];
  if (first === undefined) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(first));
}

/** Reads SSH wire-format fields: a uint32 length followed by that many bytes. */
class WireReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  readString(field: string): Buffer {
    if (this.offset + 4 > this.bytes.length) throw this.cutShort(field);
    const length = this.bytes.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + length > this.bytes.length) throw this.cutShort(field);
    this.offset = start + length;
    return this.bytes.subarray(start, start + length);
  }

  /** Reads a non-negative mpint and returns its magnitude without the sign byte. */
  readMpint(field: string): Buffer {
    const value = this.readString(field);
    if ((value[0] ?? 0) & 0x80) throw new ValidationError(`the ${field} is negative`, 'key');
    const firstNonZero = value.findIndex((byte) => byte !== 0);
    return firstNonZero === -1 ? Buffer.alloc(0) : value.subarray(firstNonZero);
  }

  atEnd(): boolean {
    return this.offset === this.bytes.length;
  }

  private cutShort(field: string): ValidationError {
    return new ValidationError(`the key data ends inside its ${field}; the base64 may be cut short`, 'key');
  }
}
