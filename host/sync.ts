// `sync`: fetch the host class's manifest, verify it and every file, then install it atomically.

import { readFile } from 'node:fs/promises';
import { type Keyring, parseKeyring, verifyManifest } from '../shared/bundle/manifest.ts';
import { BundleRejectedError, ConfigError, errorMessage } from '../shared/errors.ts';
import type { ObjectStore } from '../shared/storage/object-store.ts';
import { checkManifest } from './checks.ts';
import type { AgentConfig } from './config.ts';
import { fetchFiles, fetchManifest } from './fetch.ts';
import { type InstallStep, installBundle, repairLinks } from './install.ts';
import { type AgentLayout, agentLayout } from './layout.ts';
import { acquireLock } from './lock.ts';
import type { Logger } from './log.ts';
import { type AgentState, readAgentState, readInstalledBundle, writeAgentState } from './state.ts';

export interface SyncDependencies {
  store: ObjectStore;
  log: Logger;
  now?: () => Date;
  visudoPath?: string;
  onInstallStep?: (step: InstallStep) => void | Promise<void>;
}

export type SyncOutcome =
  | { kind: 'not-modified' }
  | { kind: 'unchanged'; serial: number; etag: string }
  | { kind: 'installed'; serial: number; etag: string; generation: string; downloaded: number };

/**
 * Runs one sync. Throws BundleRejectedError naming the failed check (fetch, format, key-id,
 * signature, host-class, expiry, serial, file-hash, install), and ConfigError for a bad keyring.
 * A failure before the swap of `current` leaves every installed file unchanged.
 */
export async function runSync(config: AgentConfig, deps: SyncDependencies): Promise<SyncOutcome> {
  const layout = agentLayout(config.root);
  const keyring = await loadKeyring(config.keyringFile);
  const release = await acquireLock(layout.lockFile);
  try {
    const state = await readAgentState(layout);
    const outcome = await syncLocked(config, layout, keyring, state, deps).catch(async (error: unknown) => {
      await recordError(layout, state, error, deps);
      throw error;
    });
    // The not-modified path writes nothing at all, so a poll with no change costs one conditional GET.
    if (outcome.kind === 'not-modified') return outcome;
    // The ETag is stored only after success, so a failed sync fetches the manifest again next time.
    const success = { manifestEtag: outcome.etag, lastSuccessAt: nowOf(deps).toISOString() };
    await writeAgentState(layout, success);
    return outcome;
  } finally {
    await release();
  }
}

async function syncLocked(
  config: AgentConfig,
  layout: AgentLayout,
  keyring: Keyring,
  state: AgentState,
  deps: SyncDependencies,
): Promise<SyncOutcome> {
  const { log } = deps;
  const installed = await readInstalledBundle(layout);

  // 1. Fetch the manifest, conditional on the last ETag only while a bundle is installed.
  const etag = installed ? state.manifestEtag : undefined;
  const fetched = await fetchManifest(deps.store, config.hostClass, etag);
  if (fetched.kind === 'not-modified') {
    log.info('manifest not modified', { phase: 'fetch', serial: installed?.serial });
    return { kind: 'not-modified' };
  }
  log.info('manifest fetched', { phase: 'fetch', bytes: fetched.bytes.length });

  // 2. Verify the signature and key id, then the host's own checks.
  const manifest = verifyManifest(fetched.bytes, keyring);
  const payload = (JSON.parse(fetched.bytes.toString('utf8')) as { payload: string }).payload;
  const verdict = checkManifest(manifest, payload, {
    hostClass: config.hostClass,
    now: nowOf(deps),
    installed,
  });
  log.info('manifest verified', { phase: 'verify', serial: manifest.serial, keyId: manifest.keyId, verdict });
  if (verdict === 'unchanged') {
    if (installed) await repairLinks(layout, installed.generation);
    return { kind: 'unchanged', serial: manifest.serial, etag: fetched.etag };
  }

  // 3. Download and check every file, then install.
  const { files, downloaded } = await fetchFiles(deps.store, manifest, layout, installed);
  log.info('files verified', { phase: 'download', files: files.size, downloaded });
  const request = {
    layout,
    envelope: fetched.bytes,
    manifest,
    payload,
    files,
    previousGeneration: installed?.generation,
  };
  const { generation } = await installOrThrow(request, deps);
  log.info('bundle installed', { phase: 'done', serial: manifest.serial, generation });
  return { kind: 'installed', serial: manifest.serial, etag: fetched.etag, generation, downloaded };
}

async function installOrThrow(
  request: Parameters<typeof installBundle>[0],
  deps: SyncDependencies,
): Promise<{ generation: string }> {
  try {
    return await installBundle(request, {
      log: deps.log,
      visudoPath: deps.visudoPath,
      onStep: deps.onInstallStep,
    });
  } catch (error) {
    if (error instanceof BundleRejectedError) throw error;
    throw new BundleRejectedError(
      'install',
      `installing serial ${request.manifest.serial} failed: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
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

/** Records the failure in state.json. A failure to write it is only logged, so the caller sees the original error. */
async function recordError(
  layout: AgentLayout,
  state: AgentState,
  error: unknown,
  deps: SyncDependencies,
): Promise<void> {
  const check = error instanceof BundleRejectedError ? error.check : undefined;
  const lastError = { at: nowOf(deps).toISOString(), check, message: errorMessage(error) };
  try {
    await writeAgentState(layout, { ...state, lastError });
  } catch (writeError) {
    deps.log.warn('writing state.json failed', { phase: 'state', error: errorMessage(writeError) });
  }
}

function nowOf(deps: SyncDependencies): Date {
  return deps.now?.() ?? new Date();
}
