// Reads a host class's published files back from a bundle store, verifying the manifest first.

import { readFile } from 'node:fs/promises';
import {
  type BundleFileName,
  manifestObjectKey,
  parseKeyring,
  verifyManifest,
} from '../../shared/bundle/manifest.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';

export async function readBundleFile(
  store: ObjectStore,
  keyringFile: string,
  hostClass: string,
  name: BundleFileName,
): Promise<string> {
  const object = await store.get(manifestObjectKey(hostClass));
  if (object.kind !== 'found') throw new Error(`no manifest for ${hostClass}`);
  const manifest = verifyManifest(object.body, parseKeyring(await readFile(keyringFile, 'utf8')));
  const entry = manifest.files[name];
  if (!entry) return '';
  const file = await store.get(`files/${entry.sha256}`);
  if (file.kind !== 'found') throw new Error(`file ${name} of ${hostClass} is missing`);
  return file.body.toString('utf8');
}
