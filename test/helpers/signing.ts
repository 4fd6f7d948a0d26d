// Test signing keys and keyrings.

import { generateKeyPairSync } from 'node:crypto';
import { keyIdOf, type SigningKey } from '../../shared/bundle/manifest.ts';

export function newSigningKey(): SigningKey & { publicKeyPem: string } {
  const pair = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(pair.publicKey),
    privateKey: pair.privateKey,
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
