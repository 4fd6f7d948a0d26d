// Test helpers that make signed bundles with the real writers (nss-maps, index-file, manifest).

import { generateKeyPairSync } from 'node:crypto';
import { type IndexEntry, renderCache, renderIndex } from '../../shared/bundle/index-file.ts';
import {
  type BundleFileName,
  fileObjectKey,
  keyIdOf,
  type Manifest,
  manifestObjectKey,
  type SigningKey,
  sha256Hex,
  signManifest,
} from '../../shared/bundle/manifest.ts';
import { buildMaps, type NssRecord } from '../../shared/bundle/nss-maps.ts';
import type { Group, Person } from '../../shared/directory/model.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface TestSigner {
  signingKey: SigningKey;
  /** The public key as PEM, the content of a keyring file. */
  publicKeyPem: string;
}

export function createTestSigner(): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    signingKey: { keyId: keyIdOf(publicKey), privateKey },
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** Creates a person whose user-private group id equals the uid; `overrides` replaces any field. */
export function makePerson(username: string, uidNumber: number, overrides: Partial<Person> = {}): Person {
  return {
    username,
    uidNumber,
    gidNumber: uidNumber,
    displayName: `${username} Example`,
    homeDirectory: `/home/${username}`,
    loginShell: '/bin/bash',
    status: 'active',
    sshPublicKeys: [],
    ...overrides,
  };
}

/** Renders the nine nsscache files for the people and groups, as a publisher would. */
export function renderNssFiles(
  people: readonly Person[],
  groups: readonly Group[],
): Map<BundleFileName, Buffer> {
  const { maps } = buildMaps(people, groups, new Set());
  const files = new Map<BundleFileName, Buffer>();
  const add = (map: 'passwd' | 'group' | 'shadow', records: NssRecord[], idIndex?: 'ixuid' | 'ixgid') => {
    const { cache, offsets } = renderCache(records);
    files.set(`${map}.cache`, cache);
    const byName: IndexEntry[] = records.map((record, row) => ({
      key: record.name,
      offset: offsets[row] ?? 0,
    }));
    files.set(`${map}.cache.ixname`, renderIndex(byName));
    if (idIndex) {
      const byId = records.map((record, row) => ({ key: String(record.id), offset: offsets[row] ?? 0 }));
      files.set(`${map}.cache.${idIndex}` as BundleFileName, renderIndex(byId));
    }
  };
  add('passwd', maps.passwd, 'ixuid');
  add('group', maps.group, 'ixgid');
  add('shadow', maps.shadow);
  files.set('sshkey.cache', renderCache(maps.sshkey).cache);
  return files;
}

export interface TestBundle {
  hostClass: string;
  serial: number;
  files: ReadonlyMap<BundleFileName, Buffer>;
  issuedAt?: Date;
  expiresAt?: Date;
}

/**
 * Stores the files under their hashes and the signed manifest last, as the publisher does.
 * Returns the manifest and the stored envelope bytes.
 */
export async function publishTestBundle(
  store: ObjectStore,
  signingKey: SigningKey,
  bundle: TestBundle,
): Promise<{ manifest: Manifest; envelope: Buffer }> {
  const issuedAt = bundle.issuedAt ?? new Date();
  const manifest: Manifest = {
    format: 1,
    hostClass: bundle.hostClass,
    serial: bundle.serial,
    issuedAt: issuedAt.toISOString(),
    expiresAt: (bundle.expiresAt ?? new Date(issuedAt.getTime() + 7 * DAY_MS)).toISOString(),
    keyId: signingKey.keyId,
    files: {},
  };
  for (const [name, bytes] of bundle.files) {
    const sha256 = sha256Hex(bytes);
    await store.put(fileObjectKey(sha256), bytes);
    manifest.files[name] = { sha256, size: bytes.length };
  }
  const envelope = signManifest(manifest, signingKey);
  await store.put(manifestObjectKey(bundle.hostClass), envelope);
  return { manifest, envelope };
}
