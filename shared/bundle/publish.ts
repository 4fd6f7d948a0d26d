// Publishes every host class's bundle from one directory snapshot: files first, manifest last.

import type { DirectorySnapshot } from '../directory/model.ts';
import { PreconditionFailedError, PublishError } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { buildClassFiles } from './class-bundle.ts';
import {
  type BundleFileEntry,
  fileObjectKey,
  type Manifest,
  manifestObjectKey,
  readManifestUnverified,
  type SigningKey,
  sha256Hex,
  signManifest,
} from './manifest.ts';
import type { SkippedRecord } from './nss-maps.ts';

/** Attempts at the manifest compare-and-swap before a publish gives up; each loss means another publisher won. */
const MANIFEST_WRITE_ATTEMPTS = 5;

export interface PublishInput {
  snapshot: DirectorySnapshot;
  policy: Policy;
  store: ObjectStore;
  signingKey: SigningKey;
  /** Valid emergency keys as authorized_keys lines, for classes whose policy includes them. */
  emergencyKeys?: readonly string[];
  now?: Date;
  /** Publishes a snapshot with zero people; only an operator sets this. */
  allowEmpty?: boolean;
}

export interface ClassPublishResult {
  hostClass: string;
  /** `published`: a new manifest; `unchanged`: same files and the current manifest is fresh enough; `superseded`: a newer snapshot is already published. */
  outcome: 'published' | 'unchanged' | 'superseded';
  serial: number;
  people: number;
  bytes: number;
  skipped: SkippedRecord[];
}

/** Publishes every class of the policy. Throws PublishError, publishing nothing, for an empty snapshot. */
export async function publishBundles(input: PublishInput): Promise<ClassPublishResult[]> {
  if (input.snapshot.people.length === 0 && !input.allowEmpty) {
    throw new PublishError('the directory snapshot holds no people; refusing to publish empty bundles');
  }
  const results: ClassPublishResult[] = [];
  for (const hostClass of input.policy.hostClasses) {
    const { files, people, skipped } = buildClassFiles(input.snapshot, hostClass, input.emergencyKeys);

    // 1. Content-addressed files, each written once; a manifest never names a missing file.
    const entries: Partial<Record<string, BundleFileEntry>> = {};
    let bytes = 0;
    for (const [name, body] of files) {
      const sha256 = sha256Hex(body);
      entries[name] = { sha256, size: body.length };
      bytes += body.length;
      await input.store.putIfAbsent(fileObjectKey(sha256), body);
    }

    // 2. The manifest, by compare-and-swap, so concurrent publishers never lower a serial.
    const lifetimeMs = hostClass.bundleLifetimeHours * 3_600_000;
    const written = await writeManifest(input, hostClass.name, entries, people.length, lifetimeMs);
    results.push({ hostClass: hostClass.name, ...written, people: people.length, bytes, skipped });
  }
  return results;
}

async function writeManifest(
  input: PublishInput,
  hostClass: string,
  files: Manifest['files'],
  people: number,
  lifetimeMs: number,
): Promise<{ outcome: ClassPublishResult['outcome']; serial: number }> {
  const key = manifestObjectKey(hostClass);
  for (let attempt = 1; attempt <= MANIFEST_WRITE_ATTEMPTS; attempt++) {
    const now = input.now ?? new Date();
    const current = await input.store.get(key);
    const previous = current.kind === 'found' ? readManifestUnverified(current.body) : undefined;

    if (previous?.snapshotAt && previous.snapshotAt > input.snapshot.readAt) {
      return { outcome: 'superseded', serial: previous.serial };
    }
    if (previous && sameFiles(previous.files, files) && isFresh(previous, now, lifetimeMs)) {
      return { outcome: 'unchanged', serial: previous.serial };
    }

    const manifest: Manifest = {
      format: 1,
      hostClass,
      serial: (previous?.serial ?? 0) + 1,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + lifetimeMs).toISOString(),
      keyId: input.signingKey.keyId,
      snapshotAt: input.snapshot.readAt,
      people,
      files,
    };
    const body = signManifest(manifest, input.signingKey);
    try {
      if (current.kind === 'found') await input.store.putIfMatch(key, body, current.etag);
      else if (!(await input.store.putIfAbsent(key, body)))
        throw new PreconditionFailedError(`${key} appeared`);
    } catch (error) {
      if (error instanceof PreconditionFailedError) continue;
      throw error;
    }
    await input.store.putIfAbsent(historyObjectKey(hostClass, manifest.serial), body);
    return { outcome: 'published', serial: manifest.serial };
  }
  throw new PublishError(
    `the manifest of host class ${hostClass} kept changing; gave up after ${MANIFEST_WRITE_ATTEMPTS} attempts`,
  );
}

/** Object key of an earlier manifest, kept so access at a past time can be answered. */
export function historyObjectKey(hostClass: string, serial: number): string {
  return `manifests-history/${hostClass}/${String(serial).padStart(12, '0')}.json`;
}

function sameFiles(a: Manifest['files'], b: Manifest['files']): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Manifest['files']>;
  for (const name of names) if (a[name]?.sha256 !== b[name]?.sha256) return false;
  return true;
}

/** A manifest with more than half its lifetime left need not be re-signed when nothing changed. */
function isFresh(manifest: Manifest, now: Date, lifetimeMs: number): boolean {
  return Date.parse(manifest.expiresAt) - now.getTime() > lifetimeMs / 2;
}
