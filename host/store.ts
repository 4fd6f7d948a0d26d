// Opens the object store a config's `source` names.

import { LocalFolderStore } from '../shared/storage/local-store.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { BundleSource } from './config.ts';

/** The part of an ObjectStore the agent uses: it only reads. */
export type BundleStore = Pick<ObjectStore, 'location' | 'get'>;

export interface OpenedStore {
  store: BundleStore;
  /** Releases connections; the store is unusable afterwards. */
  close: () => void;
}

/** Opens the source. The S3 reader is imported here, on first use, so other commands never load it. */
export async function openBundleStore(source: BundleSource): Promise<OpenedStore> {
  if (source.type === 'folder') return { store: new LocalFolderStore(source.path), close: () => {} };
  const { openS3BundleStore } = await import('./s3-source.ts');
  return openS3BundleStore(source);
}
