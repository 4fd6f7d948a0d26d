// The symbolic links in /etc that point into the live generation, so one rename of `current` swaps them all.

import { readlinkSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { BUNDLE_FILE_NAMES, type BundleFileName } from '../shared/bundle/manifest.ts';
import { readLinkOrUndefined, replaceWithSymlink } from './durable-fs.ts';
import { type AgentLayout, linkPathOf } from './layout.ts';

/** Returns the relative target of a file's link, e.g. `../var/lib/fleet-login/current/passwd.cache`. */
export function linkTargetOf(layout: AgentLayout, name: BundleFileName): string {
  const linkPath = linkPathOf(layout, name);
  return relative(dirname(linkPath), join(layout.current, name));
}

/**
 * Creates or repairs the links for `names` and returns the names whose link it changed. A regular
 * file in the way (say, from an earlier per-file install) is replaced atomically, and a missing
 * parent folder is created with mode 0755.
 */
export async function ensureLinks(
  layout: AgentLayout,
  names: Iterable<BundleFileName>,
): Promise<BundleFileName[]> {
  const changed: BundleFileName[] = [];
  for (const name of names) {
    const linkPath = linkPathOf(layout, name);
    await mkdir(dirname(linkPath), { recursive: true, mode: 0o755 });
    if (await replaceWithSymlink(linkPath, linkTargetOf(layout, name))) changed.push(name);
  }
  return changed;
}

/**
 * Returns the names whose link is missing or has another target. It reads the links synchronously,
 * because every sync runs it and a dozen thread-pool round trips cost more than the reads.
 */
export function findWrongLinks(layout: AgentLayout, names: readonly BundleFileName[]): BundleFileName[] {
  return names.filter(
    (name) => readLinkSyncOrUndefined(linkPathOf(layout, name)) !== linkTargetOf(layout, name),
  );
}

function readLinkSyncOrUndefined(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Removes the agent's own links for every bundle file name not in `keep`. A path that is not
 * the agent's link (a regular file, or a link elsewhere) is left alone.
 */
export async function removeLinksExcept(
  layout: AgentLayout,
  keep: ReadonlySet<BundleFileName>,
): Promise<void> {
  for (const name of BUNDLE_FILE_NAMES) {
    if (keep.has(name)) continue;
    const linkPath = linkPathOf(layout, name);
    if ((await readLinkOrUndefined(linkPath)) === linkTargetOf(layout, name)) await rm(linkPath);
  }
}
