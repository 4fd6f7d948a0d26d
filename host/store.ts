// Opens the object store a config's `source` names.

import { ConfigError } from '../shared/errors.ts';
import { LocalFolderStore } from '../shared/storage/local-store.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import type { BundleSource } from './config.ts';

export function openBundleStore(source: BundleSource): ObjectStore {
  if (source.type === 'folder') return new LocalFolderStore(source.path);
  // TODO(#5): read from S3 with the instance's credentials once the S3 store lands in shared/storage.
  throw new ConfigError(`source type s3 (bucket ${source.bucket}) is not supported by this agent build yet`);
}
