// The signed manifest: what a bundle contains, for which host class, until when, and who signed it.

import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { BundleRejectedError } from '../errors.ts';

/**
 * Every file name a bundle may carry. The agent installs nothing else, so a manifest cannot
 * name a path of its own choosing.
 */
export const BUNDLE_FILE_NAMES = [
  'passwd.cache',
  'passwd.cache.ixname',
  'passwd.cache.ixuid',
  'group.cache',
  'group.cache.ixname',
  'group.cache.ixgid',
  'shadow.cache',
  'shadow.cache.ixname',
  'sshkey.cache',
  'sudoers',
  'emergency_authorized_keys',
] as const;

export type BundleFileName = (typeof BUNDLE_FILE_NAMES)[number];

const SHA256_HEX = /^[0-9a-f]{64}$/;

const manifestSchema = z
  .object({
    format: z.literal(1),
    hostClass: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
    serial: z.number().int().positive(),
    issuedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    keyId: z.string().min(1),
    /** When the directory snapshot behind this bundle was read; a publisher never replaces a newer one. */
    snapshotAt: z.iso.datetime().optional(),
    /** How many people the bundle's passwd map holds, for the shrink guard. */
    people: z.number().int().nonnegative().optional(),
    files: z.partialRecord(
      z.enum(BUNDLE_FILE_NAMES),
      z.object({ sha256: z.string().regex(SHA256_HEX), size: z.number().int().nonnegative() }).strict(),
    ),
  })
  .strict();

export type Manifest = z.infer<typeof manifestSchema>;
export type BundleFileEntry = { sha256: string; size: number };

/** The object stored at `manifests/<class>.json`: the manifest JSON text and its Ed25519 signature. */
const envelopeSchema = z
  .object({ payload: z.string(), keyId: z.string(), signature: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/) })
  .strict();

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

/** Public keys the agent trusts, by key id. Holding two keys lets the signing key rotate without an outage. */
export type Keyring = ReadonlyMap<string, KeyObject>;

/** Returns `ed25519:` and the first 16 hex digits of the SHA-256 of the key's SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return `ed25519:${createHash('sha256').update(spki).digest('hex').slice(0, 16)}`;
}

/** Reads one or more PEM public keys (concatenated) into a keyring. */
export function parseKeyring(pemText: string): Keyring {
  const blocks = pemText.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  const keyring = new Map<string, KeyObject>();
  for (const block of blocks) {
    const key = createPublicKey(block);
    if (key.asymmetricKeyType !== 'ed25519')
      throw new Error(
        'the keyring contains a key that is not Ed25519; only Ed25519 public keys are accepted',
      );
    keyring.set(keyIdOf(key), key);
  }
  return keyring;
}

/** Serialises and signs the manifest; the result is the exact bytes to store. */
export function signManifest(manifest: Manifest, key: SigningKey): Buffer {
  const payload = JSON.stringify(manifest);
  const signature = sign(null, Buffer.from(payload), key.privateKey).toString('base64');
  return Buffer.from(`${JSON.stringify({ payload, keyId: key.keyId, signature })}\n`);
}

/**
 * Verifies the envelope against the keyring and returns the manifest. Throws BundleRejectedError
 * naming the failed check: format, key-id or signature. Host class, serial and expiry are the
 * caller's checks because they depend on the host's state.
 */
export function verifyManifest(bytes: Buffer, keyring: Keyring): Manifest {
  const envelope = envelopeSchema.safeParse(parseJson(bytes));
  if (!envelope.success) throw new BundleRejectedError('format', 'the manifest envelope is malformed');

  const publicKey = keyring.get(envelope.data.keyId);
  if (!publicKey) {
    throw new BundleRejectedError(
      'key-id',
      `the manifest is signed by key ${envelope.data.keyId}, which is not in the keyring`,
    );
  }
  const signature = Buffer.from(envelope.data.signature, 'base64');
  if (!verify(null, Buffer.from(envelope.data.payload), publicKey, signature)) {
    throw new BundleRejectedError(
      'signature',
      `the manifest signature does not verify with key ${envelope.data.keyId}`,
    );
  }

  const manifest = manifestSchema.safeParse(parseJson(Buffer.from(envelope.data.payload)));
  if (!manifest.success) {
    const issue = manifest.error.issues[0];
    throw new BundleRejectedError(
      'format',
      `the signed manifest is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  if (manifest.data.keyId !== envelope.data.keyId) {
    throw new BundleRejectedError('key-id', 'the manifest names a different key id than its signature');
  }
  return manifest.data;
}

/**
 * Reads a manifest without checking its signature, for the publisher's own serial bookkeeping:
 * only the publisher's role may write the bucket, and after a signing-key rotation it may no
 * longer have the key that signed the current manifest. Returns undefined for an unreadable object.
 */
export function readManifestUnverified(bytes: Buffer): Manifest | undefined {
  const envelope = envelopeSchema.safeParse(parseJson(bytes));
  if (!envelope.success) return undefined;
  const manifest = manifestSchema.safeParse(parseJson(Buffer.from(envelope.data.payload)));
  return manifest.success ? manifest.data : undefined;
}

/** Returns the SHA-256 of the bytes as lowercase hex. */
export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Object key of a content-addressed bundle file. */
export function fileObjectKey(sha256: string): string {
  return `files/${sha256}`;
}

/** Object key of a host class's current manifest. */
export function manifestObjectKey(hostClass: string): string {
  return `manifests/${hostClass}.json`;
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
