import { describe, expect, it } from 'vitest';
import {
  type Manifest,
  parseKeyring,
  readManifestUnverified,
  signManifest,
  verifyManifest,
} from '../../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../../shared/errors.ts';
import { newSigningKey } from '../helpers/signing.ts';

const key = newSigningKey();
const manifest: Manifest = {
  format: 1,
  hostClass: 'general',
  serial: 7,
  issuedAt: '2026-12-01T10:00:00.000Z',
  expiresAt: '2026-12-04T10:00:00.000Z',
  keyId: key.keyId,
  files: { 'passwd.cache': { sha256: 'a'.repeat(64), size: 10 } },
};

function rejection(action: () => unknown): BundleRejectedError {
  try {
    action();
  } catch (error) {
    if (error instanceof BundleRejectedError) return error;
    throw error;
  }
  throw new Error('expected a BundleRejectedError');
}

describe('signManifest and verifyManifest', () => {
  it('round-trips a manifest through signing and verification', () => {
    const bytes = signManifest(manifest, key);
    expect(verifyManifest(bytes, parseKeyring(key.publicKeyPem))).toEqual(manifest);
  });

  it('accepts a manifest signed by either key of a two-key keyring', () => {
    const next = newSigningKey();
    const keyring = parseKeyring(`${key.publicKeyPem}${next.publicKeyPem}`);
    expect(verifyManifest(signManifest({ ...manifest, keyId: next.keyId }, next), keyring).keyId).toBe(
      next.keyId,
    );
    expect(verifyManifest(signManifest(manifest, key), keyring).keyId).toBe(key.keyId);
  });

  it('rejects a changed payload as a bad signature', () => {
    const envelope = JSON.parse(signManifest(manifest, key).toString());
    envelope.payload = envelope.payload.replace('"serial":7', '"serial":8');
    const error = rejection(() =>
      verifyManifest(Buffer.from(JSON.stringify(envelope)), parseKeyring(key.publicKeyPem)),
    );
    expect(error.check).toBe('signature');
  });

  it('rejects a key id missing from the keyring', () => {
    const other = newSigningKey();
    const error = rejection(() =>
      verifyManifest(signManifest(manifest, key), parseKeyring(other.publicKeyPem)),
    );
    expect(error.check).toBe('key-id');
    expect(error.message).toContain(key.keyId);
  });

  it('rejects an envelope that claims another key than the one that signed', () => {
    const other = newSigningKey();
    const keyring = parseKeyring(`${key.publicKeyPem}${other.publicKeyPem}`);
    const envelope = JSON.parse(signManifest(manifest, key).toString());
    envelope.keyId = other.keyId;
    expect(rejection(() => verifyManifest(Buffer.from(JSON.stringify(envelope)), keyring)).check).toBe(
      'signature',
    );
  });

  it.each([
    ['not JSON', Buffer.from('{')],
    ['an empty object', Buffer.from('{}')],
  ])('rejects %s as a format error', (_case, bytes) => {
    expect(rejection(() => verifyManifest(bytes, parseKeyring(key.publicKeyPem))).check).toBe('format');
  });

  it('rejects a signed manifest that names a file outside the allowed set', () => {
    const hostile = {
      ...manifest,
      files: { '../../etc/passwd': { sha256: 'a'.repeat(64), size: 1 } },
    } as unknown as Manifest;
    const error = rejection(() => verifyManifest(signManifest(hostile, key), parseKeyring(key.publicKeyPem)));
    expect(error.check).toBe('format');
  });
});

describe('readManifestUnverified', () => {
  it('reads the manifest without a keyring', () => {
    expect(readManifestUnverified(signManifest(manifest, key))?.serial).toBe(7);
  });

  it('returns undefined for garbage', () => {
    expect(readManifestUnverified(Buffer.from('garbage'))).toBeUndefined();
  });
});
