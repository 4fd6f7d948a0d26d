// File layout of the agent: generations, state, and the links that libnss-cache, sshd and sudo read.

import { join } from 'node:path';
import type { BundleFileName } from '../shared/bundle/manifest.ts';

/** Folder of the agent's own data, relative to the root. */
const STATE_FOLDER = 'var/lib/fleet-login';

/**
 * Host path of each bundle file, relative to the root. libnss-cache hard-codes
 * the /etc/*.cache paths. sudo skips drop-ins whose names contain a dot, so the drop-in has none.
 */
export const LINK_PATHS: Readonly<Record<BundleFileName, string>> = {
  'passwd.cache': 'etc/passwd.cache',
  'passwd.cache.ixname': 'etc/passwd.cache.ixname',
  'passwd.cache.ixuid': 'etc/passwd.cache.ixuid',
  'group.cache': 'etc/group.cache',
  'group.cache.ixname': 'etc/group.cache.ixname',
  'group.cache.ixgid': 'etc/group.cache.ixgid',
  'shadow.cache': 'etc/shadow.cache',
  'shadow.cache.ixname': 'etc/shadow.cache.ixname',
  'sshkey.cache': 'etc/sshkey.cache',
  sudoers: 'etc/sudoers.d/fleet-login',
  emergency_authorized_keys: 'etc/ssh/emergency_authorized_keys',
};

/** Name of the signed manifest copied into every generation folder. */
export const MANIFEST_FILE = 'manifest.json';

/** Absolute paths of the agent's files under one root. */
export interface AgentLayout {
  root: string;
  stateFolder: string;
  /** One folder per installed bundle, named `<serial>-<payload hash prefix>`. */
  generations: string;
  /** Symbolic link to the live generation, relative (`generations/<name>`); swapped with one rename. */
  current: string;
  stateFile: string;
  /** Under /run, a tmpfs on systemd hosts, so taking the lock writes nothing to disk and a reboot clears it. */
  lockFile: string;
}

export function agentLayout(root: string): AgentLayout {
  const stateFolder = join(root, STATE_FOLDER);
  return {
    root,
    stateFolder,
    generations: join(stateFolder, 'generations'),
    current: join(stateFolder, 'current'),
    stateFile: join(stateFolder, 'state.json'),
    lockFile: join(root, 'run/fleet-login/agent.lock'),
  };
}

/** Absolute path of the link through which the host reads a bundle file. */
export function linkPathOf(layout: AgentLayout, name: BundleFileName): string {
  return join(layout.root, LINK_PATHS[name]);
}
