// Checks the live generation on syncs that install nothing: its manifest against the current
// keyring, and each file's contents, mode and owner. A file is hashed only when its stat differs
// from the stamp recorded when it was installed or last hashed.

import type { Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type BundleFileName,
  type Keyring,
  type Manifest,
  sha256Hex,
  verifyManifest,
} from '../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../shared/errors.ts';
import { checkManifest } from './checks.ts';
import { ABSENT_FILE_CONTENTS } from './install.ts';
import type { AgentLayout } from './layout.ts';
import type { FileStamp, InstalledBundle, InstalledRecord } from './state.ts';

type FileEntry = { sha256: string; size: number };

/**
 * Verifies the installed manifest again with the current keyring, then the host class and expiry,
 * exactly as a fetched one. Throws BundleRejectedError naming the check; the caller leaves the
 * bundle installed, because removing it would lock everyone out.
 */
export function verifyInstalledManifest(
  installed: InstalledBundle,
  context: { keyring: Keyring; keyringFile: string; hostClass: string; now: Date },
): Manifest {
  try {
    const manifest = verifyManifest(installed.envelope, context.keyring);
    checkManifest(manifest, installed.payload, { ...context, installed });
    return manifest;
  } catch (error) {
    if (!(error instanceof BundleRejectedError)) throw error;
    const remedy =
      error.check === 'expiry'
        ? 'check that the publisher runs'
        : `add its signing key to ${context.keyringFile}, or publish a bundle signed by a key in it`;
    throw new BundleRejectedError(
      error.check,
      `the installed bundle (serial ${installed.serial}) failed the ${error.check} check again: ` +
        `${error.message}. It stays installed so that people can still log in; ${remedy}`,
      { cause: error },
    );
  }
}

/** The outcome of checking the files of the live generation. */
export interface FileCheck {
  /** Files that are missing or whose contents, mode or owner changed since the install. */
  damaged: BundleFileName[];
  /** The current stamp of every file that is intact. */
  stamps: Record<string, FileStamp>;
  /** True when a file was hashed because its stamp was missing or different, so state.json needs the new stamps. */
  restamped: boolean;
}

/**
 * Checks every file of the live generation against the installed manifest. A file whose stat
 * equals its recorded stamp is taken as intact without reading it. Otherwise a changed mode or
 * owner is damage, and the contents are hashed.
 */
export async function checkInstalledFiles(
  layout: AgentLayout,
  installed: Pick<InstalledBundle, 'generation' | 'files'>,
  record: InstalledRecord | undefined,
): Promise<FileCheck> {
  const folder = join(layout.generations, installed.generation);
  const recorded = record?.generation === installed.generation ? record.files : {};
  const check: FileCheck = { damaged: [], stamps: {}, restamped: false };
  for (const [name, accepted] of expectedFiles(installed.files)) {
    const path = join(folder, name);
    const stats = lstatOrUndefined(path);
    if (!stats?.isFile()) {
      check.damaged.push(name);
      continue;
    }
    const stamp = stampOf(stats);
    const previous = recorded[name];
    if (previous && sameStamp(previous, stamp)) {
      check.stamps[name] = stamp;
      continue;
    }
    if ((previous && !sameOwnership(previous, stamp)) || !(await hasContents(path, accepted))) {
      check.damaged.push(name);
      continue;
    }
    check.stamps[name] = stamp;
    check.restamped = true;
  }
  return check;
}

/** Returns the stamp of every regular file of a generation folder that the bundle links. */
export function stampGeneration(
  layout: AgentLayout,
  installed: Pick<InstalledBundle, 'generation' | 'files'>,
): Record<string, FileStamp> {
  const stamps: Record<string, FileStamp> = {};
  const folder = join(layout.generations, installed.generation);
  for (const name of expectedFiles(installed.files).keys()) {
    const stats = lstatOrUndefined(join(folder, name));
    if (stats?.isFile()) stamps[name] = stampOf(stats);
  }
  return stamps;
}

/**
 * Returns the contents each file of the generation may have: the manifest's entry, or the
 * stand-in for an optional file the bundle lacks. The drop-in may also be the stand-in, which
 * replaces a bundle's drop-in on a host without visudo.
 */
function expectedFiles(files: InstalledBundle['files']): Map<BundleFileName, FileEntry[]> {
  const expected = new Map<BundleFileName, FileEntry[]>();
  for (const [name, entry] of Object.entries(files) as [BundleFileName, FileEntry][]) {
    expected.set(name, [entry]);
  }
  for (const [name, contents] of Object.entries(ABSENT_FILE_CONTENTS) as [BundleFileName, Buffer][]) {
    const standIn = { sha256: sha256Hex(contents), size: contents.length };
    const entries = expected.get(name);
    if (!entries) expected.set(name, [standIn]);
    else if (name === 'sudoers') entries.push(standIn);
  }
  return expected;
}

async function hasContents(path: string, accepted: readonly FileEntry[]): Promise<boolean> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch {
    return false;
  }
  const sha256 = sha256Hex(bytes);
  return accepted.some((entry) => entry.size === bytes.length && entry.sha256 === sha256);
}

/** Stats a file synchronously: a sync with no change runs this for every file, and the stat is cheap. */
function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function stampOf(stats: Stats): FileStamp {
  const { size, mtimeMs, ctimeMs, mode, uid, gid } = stats;
  return { size, mtimeMs, ctimeMs, mode, uid, gid };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && sameOwnership(a, b);
}

function sameOwnership(a: FileStamp, b: FileStamp): boolean {
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid;
}
