// `sync`: fetch the host class's manifest, verify it and every file, then install it atomically.
// A sync that installs nothing still checks the live bundle: its manifest against the current
// keyring, its links in /etc, and its files, which it reinstalls from the store when damaged.

import { readFile } from 'node:fs/promises';
import {
  type BundleFileName,
  type Keyring,
  parseKeyring,
  verifyManifest,
} from '../shared/bundle/manifest.ts';
import { BundleRejectedError, ConfigError, errorMessage } from '../shared/errors.ts';
import { checkManifest } from './checks.ts';
import type { AgentConfig } from './config.ts';
import { asSyncFailure } from './failures.ts';
import { fetchManifest } from './fetch.ts';
import { removeStagingLeftovers } from './generations.ts';
import { type InstallOptions, type InstallStep, repairLinks } from './install.ts';
import { installVerified, recordOf, type VerifiedManifest } from './install-verified.ts';
import { checkInstalledFiles, verifyInstalledManifest } from './installed-check.ts';
import { type AgentLayout, agentLayout } from './layout.ts';
import { acquireLock, LockHeldError } from './lock.ts';
import type { Logger } from './log.ts';
import {
  type AgentState,
  type InstalledBundle,
  InstalledManifestError,
  type InstalledRecord,
  readAgentState,
  readInstalledBundle,
  readLiveGeneration,
  writeAgentState,
} from './state.ts';
import type { BundleStore } from './store.ts';

export interface SyncDependencies {
  store: BundleStore;
  log: Logger;
  now?: () => Date;
  visudoPath?: string;
  onInstallStep?: (step: InstallStep) => void | Promise<void>;
}

export type SyncOutcome =
  | { kind: 'not-modified' }
  | { kind: 'unchanged'; serial: number }
  | { kind: 'repaired'; serial: number; generation: string; files: BundleFileName[] }
  | { kind: 'installed'; serial: number; generation: string; downloaded: number };

/** An outcome and the state.json to write for it; no state means the run writes nothing. */
interface SyncResult {
  outcome: SyncOutcome;
  state?: AgentState;
}

/** Everything one sync works with once it holds the lock. */
interface SyncRun {
  config: AgentConfig;
  layout: AgentLayout;
  keyring: Keyring;
  deps: SyncDependencies;
  state: AgentState;
  /** The live bundle; undefined when nothing is installed or its manifest is unreadable. */
  installed: InstalledBundle | undefined;
}

/**
 * Runs one sync. Throws BundleRejectedError naming the failed check (fetch, format, key-id,
 * signature, host-class, expiry, serial, file-hash, install), ConfigError for a bad keyring and
 * LockHeldError while another sync runs. Every failure except LockHeldError is recorded in
 * state.json for `status`. A failure before the swap of `current` leaves every installed file
 * unchanged.
 */
export async function runSync(config: AgentConfig, deps: SyncDependencies): Promise<SyncOutcome> {
  const layout = agentLayout(config.root);
  let release: (() => Promise<void>) | undefined;
  try {
    const keyring = await loadKeyring(config.keyringFile);
    release = await acquireLock(layout.lockFile);
    await removeStagingLeftovers(layout, deps.log);
    const state = await readAgentState(layout);
    const installed = await readInstalledOrWarn(layout, deps.log);
    const result = await syncLocked({ config, layout, keyring, deps, state, installed });
    if (result.state) await writeAgentState(layout, result.state);
    return result.outcome;
  } catch (error) {
    // Another sync is running: that run records its own outcome.
    if (error instanceof LockHeldError) throw error;
    const failure = asSyncFailure(error);
    await recordError(layout, failure, deps);
    throw failure;
  } finally {
    await release?.();
  }
}

async function syncLocked(run: SyncRun): Promise<SyncResult> {
  const { config, deps, installed, state } = run;

  // 1. Fetch the manifest, conditional on the last ETag only while a readable bundle is installed.
  const fetched = await fetchManifest(
    deps.store,
    config.hostClass,
    installed ? state.manifestEtag : undefined,
  );
  if (fetched.kind === 'not-modified') return confirmNotModified(run);
  deps.log.info('manifest fetched', { phase: 'fetch', bytes: fetched.bytes.length });

  // 2. Verify the signature and key id, then the host's own checks.
  const manifest = verifyManifest(fetched.bytes, run.keyring);
  const payload = (JSON.parse(fetched.bytes.toString('utf8')) as { payload: string }).payload;
  const context = { hostClass: config.hostClass, now: nowOf(deps), installed, recorded: state.installed };
  const verdict = checkManifest(manifest, payload, context);
  deps.log.info('manifest verified', {
    phase: 'verify',
    serial: manifest.serial,
    keyId: manifest.keyId,
    verdict,
  });
  const verified = { manifest, envelope: fetched.bytes, payload };
  if (verdict === 'unchanged' && installed) {
    return confirmInstalled(run, installed, verified, { kind: 'unchanged', etag: fetched.etag });
  }

  // 3. Download and check every file, then install.
  const previousGeneration = installed?.generation ?? (await readLiveGeneration(run.layout));
  const target = { layout: run.layout, installed, previousGeneration };
  const { generation, downloaded, record } = await installVerified(
    verified,
    target,
    deps.store,
    installOptions(deps),
  );
  return {
    outcome: { kind: 'installed', serial: manifest.serial, generation, downloaded },
    state: successState(fetched.etag, record, deps),
  };
}

/** Handles a 304: the live bundle must still pass the keyring and expiry checks of a fetched one. */
async function confirmNotModified(run: SyncRun): Promise<SyncResult> {
  const { installed, config, deps } = run;
  // The ETag goes out only while a bundle is installed, so a 304 without one is a store's fault.
  if (!installed) throw new Error('the store returned not-modified for a GET without If-None-Match');
  deps.log.info('manifest not modified', { phase: 'fetch', serial: installed.serial });

  const context = {
    keyring: run.keyring,
    keyringFile: config.keyringFile,
    hostClass: config.hostClass,
    now: nowOf(deps),
  };
  const manifest = verifyInstalledManifest(installed, context);
  const verified = { manifest, envelope: installed.envelope, payload: installed.payload };
  return confirmInstalled(run, installed, verified, { kind: 'not-modified', etag: run.state.manifestEtag });
}

/**
 * Checks the live bundle that the store still serves: repairs missing or wrong links, and
 * reinstalls files that are missing or changed. State is written only when something changed,
 * so a poll with no change and an intact bundle writes nothing at all.
 */
async function confirmInstalled(
  run: SyncRun,
  installed: InstalledBundle,
  verified: VerifiedManifest,
  seen: { kind: 'not-modified' | 'unchanged'; etag: string | undefined },
): Promise<SyncResult> {
  const { layout, deps, state } = run;
  const serial = installed.serial;
  const repairedLinks = await repairLinks(layout, installed.generation);
  if (repairedLinks.length > 0)
    deps.log.warn('links repaired', { phase: 'check', serial, links: repairedLinks });

  const files = await checkInstalledFiles(layout, installed, state.installed);
  if (files.damaged.length > 0) {
    deps.log.warn('installed files damaged; reinstalling them', {
      phase: 'check',
      serial,
      files: files.damaged,
    });
    const target = { layout, installed, previousGeneration: installed.generation };
    const { generation, record } = await installVerified(verified, target, deps.store, installOptions(deps));
    return {
      outcome: { kind: 'repaired', serial, generation, files: files.damaged },
      state: successState(seen.etag, record, deps),
    };
  }

  const outcome: SyncOutcome =
    seen.kind === 'unchanged' ? { kind: 'unchanged', serial } : { kind: 'not-modified' };
  // A not-modified poll that finds everything in order writes nothing, unless it clears an old error.
  if (seen.kind === 'not-modified' && !files.restamped && state.lastError === undefined) return { outcome };
  const record = recordOf(verified, installed.generation, files.stamps);
  return { outcome, state: successState(seen.etag, record, deps) };
}

/** Reads the installed bundle. An unreadable manifest counts as none, so a fresh bundle can replace it. */
async function readInstalledOrWarn(layout: AgentLayout, log: Logger): Promise<InstalledBundle | undefined> {
  try {
    return await readInstalledBundle(layout);
  } catch (error) {
    if (!(error instanceof InstalledManifestError)) throw error;
    // The serial floor recorded in state.json still applies, so this cannot roll the host back.
    log.warn('installed manifest unreadable; fetching the bundle in full', {
      phase: 'start',
      error: error.message,
    });
    return undefined;
  }
}

async function loadKeyring(path: string): Promise<Keyring> {
  let keyring: Keyring;
  try {
    keyring = parseKeyring(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`reading the keyring ${path} failed: ${errorMessage(error)}`, { cause: error });
  }
  if (keyring.size === 0) throw new ConfigError(`the keyring ${path} contains no PEM public key`);
  return keyring;
}

function installOptions(deps: SyncDependencies): InstallOptions {
  return { log: deps.log, visudoPath: deps.visudoPath, onStep: deps.onInstallStep };
}

/** Builds the state after a success. The ETag is stored only then, so a failed sync fetches the manifest again. */
function successState(
  etag: string | undefined,
  installed: InstalledRecord,
  deps: SyncDependencies,
): AgentState {
  return { manifestEtag: etag, lastSuccessAt: nowOf(deps).toISOString(), installed };
}

/**
 * Records the failure in state.json, best effort: a failure to write it (the file system that
 * failed the sync may hold state.json too) is logged, and the caller raises the original error.
 */
async function recordError(layout: AgentLayout, error: unknown, deps: SyncDependencies): Promise<void> {
  const check = error instanceof BundleRejectedError ? error.check : undefined;
  const lastError = { at: nowOf(deps).toISOString(), check, message: errorMessage(error) };
  try {
    const state = await readAgentState(layout);
    await writeAgentState(layout, { ...state, lastError });
  } catch (writeError) {
    deps.log.warn('recording the failure in state.json failed; status will not show it', {
      phase: 'state',
      path: layout.stateFile,
      error: errorMessage(writeError),
    });
  }
}

function nowOf(deps: SyncDependencies): Date {
  return deps.now?.() ?? new Date();
}
