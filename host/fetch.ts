// Fetches a host class's manifest and the files it names from the object store.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BundleFileName,
  fileObjectKey,
  type Manifest,
  manifestObjectKey,
  sha256Hex,
} from '../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../shared/errors.ts';
import type { GetResult } from '../shared/storage/object-store.ts';
import { checkFile } from './checks.ts';
import type { AgentLayout } from './layout.ts';
import type { InstalledBundle } from './state.ts';
import type { BundleStore } from './store.ts';

export type ManifestFetch = { kind: 'not-modified' } | { kind: 'found'; bytes: Buffer; etag: string };

/**
 * Gets `manifests/<class>.json`, conditional on the last verified ETag so that an unchanged
 * manifest transfers no body. Throws BundleRejectedError('fetch') when the store fails or has
 * no manifest for the class.
 */
export async function fetchManifest(
  store: BundleStore,
  hostClass: string,
  etag?: string,
): Promise<ManifestFetch> {
  const key = manifestObjectKey(hostClass);
  const result = await getOrThrow(store, key, etag === undefined ? {} : { ifNoneMatch: etag });
  if (result.kind === 'not-modified') return result;
  if (result.kind === 'absent') {
    throw new BundleRejectedError(
      'fetch',
      `no manifest for host class ${hostClass} at ${store.location}/${key}`,
    );
  }
  return { kind: 'found', bytes: result.body, etag: result.etag };
}

/**
 * Returns every file the manifest names, each checked for size and SHA-256. A file whose hash is
 * already in the installed generation is read from disk instead of downloaded.
 */
export async function fetchFiles(
  store: BundleStore,
  manifest: Manifest,
  layout: AgentLayout,
  installed: InstalledBundle | undefined,
): Promise<{ files: Map<BundleFileName, Buffer>; downloaded: number }> {
  const files = new Map<BundleFileName, Buffer>();
  let downloaded = 0;
  for (const [name, entry] of Object.entries(manifest.files) as [
    BundleFileName,
    { sha256: string; size: number },
  ][]) {
    let bytes = await readInstalledCopy(layout, installed, entry.sha256);
    if (!bytes) {
      bytes = await downloadFile(store, name, entry.sha256);
      downloaded += 1;
    }
    checkFile(name, bytes, entry);
    files.set(name, bytes);
  }
  return { files, downloaded };
}

async function downloadFile(store: BundleStore, name: string, sha256: string): Promise<Buffer> {
  const key = fileObjectKey(sha256);
  const result = await getOrThrow(store, key, {});
  if (result.kind !== 'found') {
    throw new BundleRejectedError('fetch', `${name} is missing from the store at ${store.location}/${key}`);
  }
  return result.body;
}

/** Reads a file with the given hash from the live generation; undefined when none matches. */
async function readInstalledCopy(
  layout: AgentLayout,
  installed: InstalledBundle | undefined,
  sha256: string,
): Promise<Buffer | undefined> {
  const match = Object.entries(installed?.files ?? {}).find(([, entry]) => entry?.sha256 === sha256);
  if (!match) return undefined;
  try {
    const bytes = await readFile(join(layout.current, match[0]));
    // A damaged local copy is not an error: download the object instead.
    return sha256Hex(bytes) === sha256 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

async function getOrThrow(
  store: BundleStore,
  key: string,
  options: { ifNoneMatch?: string },
): Promise<GetResult> {
  try {
    return await store.get(key, options);
  } catch (error) {
    throw new BundleRejectedError('fetch', `reading ${key} from ${store.location} failed`, { cause: error });
  }
}
