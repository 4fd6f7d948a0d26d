// Generates Ed25519 keys in OpenSSH's public-key format, for sample people and tests.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';

/** Encodes a string as SSH wire format: a 4-byte big-endian length, then the bytes. */
function sshString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Formats an Ed25519 public key as an authorized_keys line. */
export function openSshPublicKey(publicKey: KeyObject, comment: string): string {
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x) throw new Error('not an Ed25519 public key');
  const blob = Buffer.concat([
    sshString(Buffer.from('ssh-ed25519')),
    sshString(Buffer.from(jwk.x, 'base64url')),
  ]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

/** Returns a new key pair: the public half as an authorized_keys line, the private half as PKCS#8 PEM. */
export function generateSshKey(comment: string): { publicKey: string; privateKeyPem: string } {
  const pair = generateKeyPairSync('ed25519');
  return {
    publicKey: openSshPublicKey(pair.publicKey, comment),
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
