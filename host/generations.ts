// Generation folders under var/lib/fleet-login/generations: their names, staging leftovers, pruning.

import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../shared/errors.ts';
import type { AgentLayout } from './layout.ts';
import type { Logger } from './log.ts';
import { payloadDigest } from './state.ts';

/** Name prefix of a generation folder under construction; nothing links to such a folder. */
export const STAGING_PREFIX = '.staging-';

/**
 * Names the generation folder `<serial>-<payload digest>`. Reinstalling the live bundle (to repair
 * a damaged file or an unreadable manifest) needs another name, because the swap of `current` must
 * change its target, so the name then gets a `-r<time>` suffix.
 */
export function generationName(serial: number, payload: string, previous: string | undefined): string {
  const base = `${serial}-${payloadDigest(payload)}`;
  if (previous !== base && !previous?.startsWith(`${base}-r`)) return base;
  return `${base}-r${Date.now().toString(36)}`;
}

/**
 * Deletes staging folders that a killed or failed run left in generations/. Runs under the lock,
 * so no other agent is staging. Best effort: a folder that cannot be removed is logged and kept.
 */
export async function removeStagingLeftovers(layout: AgentLayout, log: Logger): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(layout.generations);
  } catch {
    return;
  }
  for (const entry of entries.filter((name) => name.startsWith(STAGING_PREFIX))) {
    log.warn('removing a leftover staging folder', { phase: 'start', folder: entry });
    await removeStagingFolder(join(layout.generations, entry), log);
  }
}

/** Removes a staging folder; a failure is logged, not raised, so that it never hides the error being handled. */
export async function removeStagingFolder(path: string, log: Logger): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (error) {
    log.warn('removing a staging folder failed', { phase: 'install', path, error: errorMessage(error) });
  }
}

/** Deletes every generation and leftover staging folder except the live and the previous one. */
export async function pruneGenerations(layout: AgentLayout, keep: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(layout.generations)) {
    if (!keep.has(entry)) await rm(join(layout.generations, entry), { recursive: true, force: true });
  }
}
