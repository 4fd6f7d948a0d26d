// Downloads the files of a verified manifest and installs them as a new generation, then returns
// what state.json records about it: the serial floor and the stamps of the installed files.

import type { Manifest } from '../shared/bundle/manifest.ts';
import { BundleRejectedError, errorMessage } from '../shared/errors.ts';
import { describeFileSystemFailure, findFileSystemFailure } from './failures.ts';
import { fetchFiles } from './fetch.ts';
import { type InstallOptions, type InstallRequest, installBundle } from './install.ts';
import { stampGeneration } from './installed-check.ts';
import type { AgentLayout } from './layout.ts';
import { type InstalledBundle, type InstalledRecord, payloadDigest } from './state.ts';
import type { BundleStore } from './store.ts';

/** A manifest that passed its checks, with the exact bytes and payload text it came from. */
export interface VerifiedManifest {
  manifest: Manifest;
  envelope: Buffer;
  payload: string;
}

export interface InstallTarget {
  layout: AgentLayout;
  /** The installed bundle, whose intact files are copied instead of downloaded. */
  installed: InstalledBundle | undefined;
  /** The live generation, kept as the previous one; set even when its manifest is unreadable. */
  previousGeneration: string | undefined;
}

/**
 * Downloads and checks every file the manifest names, then installs them. Throws
 * BundleRejectedError: fetch or file-hash from the download, format from visudo, and install
 * (naming the path when a file system refused a write) for anything else.
 */
export async function installVerified(
  verified: VerifiedManifest,
  target: InstallTarget,
  store: BundleStore,
  options: InstallOptions,
): Promise<{ generation: string; downloaded: number; record: InstalledRecord }> {
  const { manifest } = verified;
  const { files, downloaded } = await fetchFiles(store, manifest, target.layout, target.installed);
  options.log.info('files verified', { phase: 'download', files: files.size, downloaded });

  const request = {
    layout: target.layout,
    ...verified,
    files,
    previousGeneration: target.previousGeneration,
  };
  const { generation } = await installOrThrow(request, options);
  options.log.info('bundle installed', { phase: 'done', serial: manifest.serial, generation });
  const stamps = stampGeneration(target.layout, { generation, files: manifest.files });
  return { generation, downloaded, record: recordOf(verified, generation, stamps) };
}

/** Returns the record state.json keeps for a verified bundle installed as `generation`. */
export function recordOf(
  verified: VerifiedManifest,
  generation: string,
  files: InstalledRecord['files'],
): InstalledRecord {
  const { hostClass, serial } = verified.manifest;
  return { hostClass, serial, payloadDigest: payloadDigest(verified.payload), generation, files };
}

async function installOrThrow(
  request: InstallRequest,
  options: InstallOptions,
): Promise<{ generation: string }> {
  try {
    return await installBundle(request, options);
  } catch (error) {
    if (error instanceof BundleRejectedError) throw error;
    const fileSystemFailure = findFileSystemFailure(error);
    const reason = fileSystemFailure ? describeFileSystemFailure(fileSystemFailure) : errorMessage(error);
    throw new BundleRejectedError(
      'install',
      `installing serial ${request.manifest.serial} failed: ${reason}`,
      {
        cause: error,
      },
    );
  }
}
