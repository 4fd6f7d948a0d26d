// The host-side checks on a verified manifest: host class, expiry and serial, and each file's size and hash.

import type { Manifest } from '../shared/bundle/manifest.ts';
import { sha256Hex } from '../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../shared/errors.ts';
import { type InstalledBundle, type InstalledRecord, payloadDigest } from './state.ts';

export interface ManifestContext {
  /** The host class this host belongs to, from its config. */
  hostClass: string;
  now: Date;
  installed: InstalledBundle | undefined;
  /** The bundle state.json records as last installed; its serial is a floor even when the installed manifest is unreadable. */
  recorded?: InstalledRecord;
}

/**
 * Checks a manifest whose signature already verified. Returns `unchanged` when it is the installed
 * bundle, `newer` when it should be installed. Throws BundleRejectedError naming the check:
 * host-class, expiry, or serial (lower than installed or recorded, or equal with a different
 * payload, which means a publisher signed two bundles under one serial).
 */
export function checkManifest(
  manifest: Manifest,
  payload: string,
  context: ManifestContext,
): 'unchanged' | 'newer' {
  if (manifest.hostClass !== context.hostClass) {
    throw new BundleRejectedError(
      'host-class',
      `the manifest is for host class ${manifest.hostClass}, but this host is in ${context.hostClass}`,
    );
  }
  if (Date.parse(manifest.expiresAt) <= context.now.getTime()) {
    throw new BundleRejectedError('expiry', `the manifest expired at ${manifest.expiresAt}`);
  }

  // A host moved to another class starts that class's serial series afresh.
  const installed = context.installed;
  if (installed && installed.hostClass === manifest.hostClass) {
    if (manifest.serial < installed.serial) {
      throw new BundleRejectedError(
        'serial',
        `the manifest serial ${manifest.serial} is lower than the installed serial ${installed.serial}`,
      );
    }
    if (manifest.serial === installed.serial) {
      if (payload === installed.payload) return 'unchanged';
      throw new BundleRejectedError(
        'serial',
        `the manifest reuses the installed serial ${installed.serial} with different contents`,
      );
    }
  }
  checkRecordedSerial(manifest, payload, context.recorded);
  return 'newer';
}

/** Rejects a serial below the one state.json recorded for the same class, or equal to it with other contents. */
function checkRecordedSerial(
  manifest: Manifest,
  payload: string,
  recorded: InstalledRecord | undefined,
): void {
  if (!recorded || recorded.hostClass !== manifest.hostClass) return;
  if (manifest.serial < recorded.serial) {
    throw new BundleRejectedError(
      'serial',
      `the manifest serial ${manifest.serial} is lower than the serial ${recorded.serial} recorded in state.json`,
    );
  }
  if (manifest.serial === recorded.serial && payloadDigest(payload) !== recorded.payloadDigest) {
    throw new BundleRejectedError(
      'serial',
      `the manifest reuses the recorded serial ${recorded.serial} with different contents`,
    );
  }
}

/** Checks a downloaded file against its manifest entry; throws BundleRejectedError('file-hash'). */
export function checkFile(name: string, bytes: Buffer, expected: { sha256: string; size: number }): void {
  if (bytes.length !== expected.size) {
    throw new BundleRejectedError(
      'file-hash',
      `${name} is ${bytes.length} bytes, but the manifest says ${expected.size}`,
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== expected.sha256) {
    throw new BundleRejectedError(
      'file-hash',
      `${name} has SHA-256 ${actual}, but the manifest says ${expected.sha256}`,
    );
  }
}
