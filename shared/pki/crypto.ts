// The one place that prepares @peculiar/x509 and converts P-256 keys and PEM text.

import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

import * as x509 from '@peculiar/x509';

// @peculiar/x509 looks up WebCrypto through a global provider. Node's implementation does ECDSA P-256.
x509.cryptoProvider.set(webcrypto);

export { x509 };

/** Key and signature parameters for every key and certificate the product issues. */
export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;

/** Generates an extractable ECDSA P-256 key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** Encodes a private key as unencrypted PKCS#8 PEM, the form both slapd (GnuTLS) and Node read. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** Imports a PKCS#8 PEM P-256 private key for signing certificates. */
export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(keyPem);
  return webcrypto.subtle.importKey('pkcs8', der, EC_KEY_ALGORITHM, false, ['sign']);
}

/** Splits text holding several PEM blocks (a chain or a trust bundle) into one string per block. */
export function splitPem(text: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => `${match[0]}\n`);
}

/** Joins PEM blocks into one text, one block after another. */
export function joinPem(blocks: readonly string[]): string {
  return blocks.map((block) => `${block.trim()}\n`).join('');
}

/** Returns a positive 16-byte serial number as hex: 127 random bits, above the 64 that CAs must use. */
export function randomSerialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  // A DER INTEGER with the top bit set is negative, so clearing it keeps the serial positive.
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
