// Answers "who could log in to host class X at time T" from the manifests kept under manifests-history/.

import type { ObjectStore } from '../storage/object-store.ts';
import { type Keyring, type Manifest, readManifestUnverified, verifyManifest } from './manifest.ts';
import { readPublishedFiles } from './publish.ts';
import { parseAuthorizedKey } from './ssh-key.ts';

export interface AccessAtTime {
  hostClass: string;
  at: string;
  /** The manifest hosts were installing at that time, or undefined when none had been issued yet. */
  manifest?: Pick<Manifest, 'serial' | 'issuedAt' | 'expiresAt' | 'keyId'>;
  /** True when that manifest had already expired at the time asked, so agents refused it. */
  expired: boolean;
  people: { username: string; uidNumber: number; shell: string; keyFingerprints: string[] }[];
}

/**
 * Finds the newest manifest of the class issued at or before `at` by binary search (serials rise
 * with issue time), and lists the people of its passwd map with their keys. With a keyring the
 * manifest's signature is verified too, so a tampered history is caught.
 */
export async function accessAt(
  store: ObjectStore,
  hostClass: string,
  at: Date,
  keyring?: Keyring,
): Promise<AccessAtTime> {
  const keys = await store.list(`manifests-history/${hostClass}/`);
  const read = async (key: string) => {
    const object = await store.get(key);
    if (object.kind !== 'found') throw new Error(`${key} vanished from ${store.location}`);
    const manifest = keyring ? verifyManifest(object.body, keyring) : readManifestUnverified(object.body);
    if (!manifest) throw new Error(`${key} in ${store.location} is not a readable manifest`);
    return { manifest, body: object.body };
  };

  let low = 0;
  let high = keys.length - 1;
  let found: Awaited<ReturnType<typeof read>> | undefined;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const candidate = await read(keys[middle] as string);
    if (Date.parse(candidate.manifest.issuedAt) <= at.getTime()) {
      found = candidate;
      low = middle + 1;
    } else high = middle - 1;
  }
  if (!found) return { hostClass, at: at.toISOString(), expired: false, people: [] };

  const files = await readPublishedFiles(store, found.body);
  const keysByName = new Map<string, string[]>();
  for (const line of (files.get('sshkey.cache')?.toString('utf8') ?? '').split('\n').filter(Boolean)) {
    const name = line.slice(0, line.indexOf(':'));
    keysByName.set(name, [...(keysByName.get(name) ?? []), fingerprint(line.slice(name.length + 1))]);
  }
  const people = (files.get('passwd.cache')?.toString('utf8') ?? '')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(':');
      const username = fields[0] ?? '';
      return {
        username,
        uidNumber: Number(fields[2]),
        shell: fields[6] ?? '',
        keyFingerprints: keysByName.get(username) ?? [],
      };
    });
  const { serial, issuedAt, expiresAt, keyId } = found.manifest;
  return {
    hostClass,
    at: at.toISOString(),
    manifest: { serial, issuedAt, expiresAt, keyId },
    expired: Date.parse(expiresAt) <= at.getTime(),
    people,
  };
}

function fingerprint(key: string): string {
  try {
    return parseAuthorizedKey(key).fingerprint;
  } catch {
    return '(unparsable key)';
  }
}
