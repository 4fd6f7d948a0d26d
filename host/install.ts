// Installs a verified bundle as a new generation folder and makes it live with one atomic rename.
//
// Layout under <root>/var/lib/fleet-login: generations/<serial>-<hash>/ contains every file and the
// signed manifest; `current` links to one generation; /etc/passwd.cache and the other host paths
// link through `current`. A crash at any step leaves `current` at the old or the new generation,
// both complete, because nothing visible changes before the single rename of `current`.

import { access, constants, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BUNDLE_FILE_NAMES, type BundleFileName, type Manifest } from '../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../shared/errors.ts';
import { type FileOwnership, replaceWithSymlink, syncFolder, writeNewFileSynced } from './durable-fs.ts';
import { generationName, pruneGenerations, removeStagingFolder, STAGING_PREFIX } from './generations.ts';
import { type AgentLayout, MANIFEST_FILE } from './layout.ts';
import { ensureLinks, findWrongLinks, removeLinksExcept } from './links.ts';
import type { Logger } from './log.ts';

export const DEFAULT_VISUDO_PATH = '/usr/sbin/visudo';

/** Named steps in order, logged as they start, so a fault-injection test can stop the agent at each one. */
export const INSTALL_STEPS = [
  'stage',
  'check-sudoers',
  'publish-generation',
  'link-existing',
  'swap',
  'link',
  'prune',
] as const;

export type InstallStep = (typeof INSTALL_STEPS)[number];

/**
 * Stand-ins that a generation contains for optional files its bundle lacks: a drop-in without
 * rules, and an empty keys file. Every generation then has these files, so their links always
 * resolve, and the one rename of `current` switches a drop-in on or off with the rest.
 */
export const ABSENT_FILE_CONTENTS: Readonly<Partial<Record<BundleFileName, Buffer>>> = {
  sudoers: Buffer.from('# fleet-login: this host class grants no sudo rights.\n'),
  emergency_authorized_keys: Buffer.alloc(0),
};

export interface InstallRequest {
  layout: AgentLayout;
  /** The signed manifest object exactly as fetched. */
  envelope: Buffer;
  manifest: Manifest;
  payload: string;
  files: ReadonlyMap<BundleFileName, Buffer>;
  /** Generation folder name of the live bundle, kept as the previous generation. */
  previousGeneration: string | undefined;
}

export interface InstallOptions {
  log: Logger;
  visudoPath?: string;
  onStep?: (step: InstallStep) => void | Promise<void>;
}

/** Creates the generation, swaps `current` to it, updates links and prunes old generations. */
export async function installBundle(
  request: InstallRequest,
  options: InstallOptions,
): Promise<{ generation: string }> {
  const { layout, manifest } = request;
  const step = async (name: InstallStep) => {
    options.log.info('install step', { phase: 'install', step: name, serial: manifest.serial });
    await options.onStep?.(name);
  };
  const generation = generationName(manifest.serial, request.payload, request.previousGeneration);

  // 1. Build the generation where nothing refers to it, and check the sudoers drop-in there.
  await step('stage');
  const files = withAbsentFiles(request.files);
  const staging = await stageGeneration(request, files, options);
  try {
    await step('check-sudoers');
    if (request.files.has('sudoers') && !(await checkSudoers(join(staging, 'sudoers'), options))) {
      await replaceStagedSudoers(staging);
    }
    await step('publish-generation');
    await publishGeneration(layout, staging, generation);
  } catch (error) {
    await removeStagingFolder(staging, options.log);
    throw error;
  }

  // 2. Links go through `current`, so a link to a file both generations have is valid before and
  // after the swap. After the first install every generation has every file the agent links.
  await step('link-existing');
  const names = new Set(files.keys());
  const installedBefore = await namesIn(layout, request.previousGeneration);
  await ensureLinks(
    layout,
    [...names].filter((name) => installedBefore.has(name)),
  );

  // 3. The one rename that makes the new set live. Links only for files the old generation
  // lacked (a first install, or one after an agent upgrade) appear after it.
  await step('swap');
  await replaceWithSymlink(layout.current, `generations/${generation}`);
  await step('link');
  await ensureLinks(layout, names);
  await removeLinksExcept(layout, names);

  // 4. Pruning is housekeeping: a failure leaves an extra folder, so it is logged, not raised.
  await step('prune');
  await pruneGenerations(layout, new Set([generation, request.previousGeneration ?? ''])).catch(
    (error: unknown) => {
      options.log.warn('pruning old generations failed', { phase: 'install', error: String(error) });
    },
  );
  return { generation };
}

/** Renames the complete staging folder to its generation name, replacing a leftover of a crashed run. */
async function publishGeneration(layout: AgentLayout, staging: string, generation: string): Promise<void> {
  const folder = join(layout.generations, generation);
  await rm(folder, { recursive: true, force: true });
  await rename(staging, folder);
  await syncFolder(layout.generations);
}

/** Modes and owners the host expects: shadow is readable by the shadow group only, sudoers by root. */
function ownershipOf(name: BundleFileName | typeof MANIFEST_FILE, shadowGid: number): FileOwnership {
  if (name === 'shadow.cache' || name === 'shadow.cache.ixname')
    return { mode: 0o640, uid: 0, gid: shadowGid };
  if (name === 'sudoers') return { mode: 0o440, uid: 0, gid: 0 };
  return { mode: 0o644, uid: 0, gid: 0 };
}

/** Returns the bundle's files plus the stand-in of each optional file it lacks. */
function withAbsentFiles(files: ReadonlyMap<BundleFileName, Buffer>): Map<BundleFileName, Buffer> {
  const complete = new Map(files);
  for (const [name, contents] of Object.entries(ABSENT_FILE_CONTENTS) as [BundleFileName, Buffer][]) {
    if (!complete.has(name)) complete.set(name, contents);
  }
  return complete;
}

/** Puts the rule-less stand-in in place of the staged drop-in; nothing refers to the folder yet. */
async function replaceStagedSudoers(staging: string): Promise<void> {
  const path = join(staging, 'sudoers');
  await rm(path);
  await writeNewFileSynced(path, ABSENT_FILE_CONTENTS.sudoers as Buffer, ownershipOf('sudoers', 0));
  await syncFolder(staging);
}

/**
 * Writes every file into a fresh staging folder and fsyncs it. Nothing refers to the folder yet,
 * so files go straight to their final names. Caches come before index files, so each index's
 * mtime is at least its cache's and libnss-cache trusts the index; the manifest comes last.
 */
async function stageGeneration(
  request: InstallRequest,
  files: ReadonlyMap<BundleFileName, Buffer>,
  options: InstallOptions,
): Promise<string> {
  const { layout } = request;
  await mkdir(layout.generations, { recursive: true, mode: 0o755 });
  const staging = join(layout.generations, `${STAGING_PREFIX}${process.pid}-${Date.now()}`);
  await mkdir(staging, { mode: 0o755 });

  const shadowGid = await shadowGroupId(layout.root);
  const names = [...files.keys()];
  const ordered = [...names.filter((name) => !isIndex(name)), ...names.filter(isIndex)];
  try {
    for (const name of ordered) {
      await writeNewFileSynced(join(staging, name), files.get(name) as Buffer, ownershipOf(name, shadowGid));
    }
    await writeNewFileSynced(
      join(staging, MANIFEST_FILE),
      request.envelope,
      ownershipOf(MANIFEST_FILE, shadowGid),
    );
    await syncFolder(staging);
  } catch (error) {
    // A partial folder on a full disk would keep it full and fail every later sync the same way.
    await removeStagingFolder(staging, options.log);
    throw error;
  }
  return staging;
}

function isIndex(name: BundleFileName): boolean {
  return name.includes('.ix');
}

/**
 * Runs `visudo -cf` on the staged drop-in. A drop-in that fails rejects the whole bundle. Without
 * visudo, sudo is not installed: the caller installs the rule-less stand-in, and a warning is logged.
 */
async function checkSudoers(path: string, options: InstallOptions): Promise<boolean> {
  const visudo = options.visudoPath ?? DEFAULT_VISUDO_PATH;
  try {
    await access(visudo, constants.X_OK);
  } catch {
    options.log.warn('visudo not found; the sudoers drop-in is installed without rules', {
      phase: 'install',
      visudo,
    });
    return false;
  }
  // Loaded here because child_process costs a few milliseconds of start-up, and only installs need it.
  const { execFile } = await import('node:child_process');
  try {
    await promisify(execFile)(visudo, ['-c', '-f', path]);
    return true;
  } catch (error) {
    // The first line of visudo's output names the file, line and column of the syntax error.
    const firstLine = (error as { stderr?: string }).stderr?.trim().split('\n')[0] ?? '';
    throw new BundleRejectedError('format', `the sudoers drop-in failed visudo -cf: ${firstLine}`, {
      cause: error,
    });
  }
}

/** Returns the gid of the `shadow` group from the root's /etc/group, or 0 when there is none. */
async function shadowGroupId(root: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(join(root, 'etc/group'), 'utf8');
  } catch {
    return 0;
  }
  const line = text.split('\n').find((entry) => entry.startsWith('shadow:'));
  const gid = Number(line?.split(':')[2]);
  return Number.isInteger(gid) ? gid : 0;
}

/**
 * Links every bundle file of the live generation, repairing links that a crash between the swap
 * and the last link left missing, or that someone deleted or changed. Each file passed its checks,
 * visudo included, before the generation went live. Returns the names whose link was repaired.
 */
export async function repairLinks(layout: AgentLayout, generation: string): Promise<BundleFileName[]> {
  const present = await namesIn(layout, generation);
  const linked = BUNDLE_FILE_NAMES.filter((name) => present.has(name));
  return ensureLinks(layout, findWrongLinks(layout, linked));
}

async function namesIn(layout: AgentLayout, generation: string | undefined): Promise<Set<string>> {
  if (!generation) return new Set();
  try {
    return new Set(await readdir(join(layout.generations, generation)));
  } catch {
    return new Set();
  }
}
