// Installed state: the live generation's manifest (the truth) and state.json (ETag, last success, last error).

import { createHash } from 'node:crypto';
import { readFile, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BUNDLE_FILE_NAMES, type BundleFileEntry, type BundleFileName } from '../shared/bundle/manifest.ts';
import { FleetLoginError } from '../shared/errors.ts';
import { type FileOwnership, syncFolder, temporarySibling, writeNewFileSynced } from './durable-fs.ts';
import { type AgentLayout, MANIFEST_FILE } from './layout.ts';

/** The installed bundle as read back from `current/manifest.json`. */
export interface InstalledBundle {
  /** Generation folder name, the target of the `current` link. */
  generation: string;
  /** The signed payload text, compared byte for byte with a fetched manifest of the same serial. */
  payload: string;
  hostClass: string;
  serial: number;
  issuedAt: string;
  expiresAt: string;
  files: Partial<Record<BundleFileName, BundleFileEntry>>;
}

/** Agent bookkeeping. Losing it costs one full manifest download, nothing else. */
export interface AgentState {
  /** ETag of the manifest object last verified, sent as If-None-Match on the next poll. */
  manifestEtag?: string;
  /** When a sync last installed a bundle or confirmed the installed one, ISO-8601. */
  lastSuccessAt?: string;
  lastError?: { at: string; check?: string; message: string };
}

const envelopeSchema = z.object({ payload: z.string() });
const payloadSchema = z.object({
  hostClass: z.string(),
  serial: z.number(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  files: z.partialRecord(z.enum(BUNDLE_FILE_NAMES), z.object({ sha256: z.string(), size: z.number() })),
});

const stateSchema = z.object({
  manifestEtag: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  lastError: z.object({ at: z.string(), check: z.string().optional(), message: z.string() }).optional(),
});

/** Returns the first 16 hex digits of the payload's SHA-256, used in generation folder names. */
export function payloadDigest(payload: string): string {
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

/**
 * Reads the manifest of the live generation. Its signature was verified when it was installed and
 * the file is root-owned, so it is parsed without the keyring (a rotated-out key must not make the
 * installed serial unreadable). Returns undefined when nothing is installed yet.
 */
export async function readInstalledBundle(layout: AgentLayout): Promise<InstalledBundle | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(layout.current, MANIFEST_FILE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const generation = (await readlink(layout.current)).split('/').pop() ?? '';
  try {
    const payload = envelopeSchema.parse(JSON.parse(bytes.toString('utf8'))).payload;
    return { generation, payload, ...payloadSchema.parse(JSON.parse(payload)) };
  } catch (error) {
    throw new FleetLoginError(`the installed manifest ${join(layout.current, MANIFEST_FILE)} is invalid`, {
      cause: error,
    });
  }
}

/** Reads state.json; a missing or unreadable file counts as empty state. */
export async function readAgentState(layout: AgentLayout): Promise<AgentState> {
  try {
    const parsed = stateSchema.safeParse(JSON.parse(await readFile(layout.stateFile, 'utf8')));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}

/** Replaces state.json atomically: temp file, fsync, rename, fsync of the folder. */
export async function writeAgentState(layout: AgentLayout, state: AgentState): Promise<void> {
  const temporary = temporarySibling(layout.stateFile);
  const ownership: FileOwnership = { mode: 0o644, uid: 0, gid: 0 };
  try {
    await writeNewFileSynced(temporary, Buffer.from(`${JSON.stringify(state, null, 2)}\n`), ownership);
    await rename(temporary, layout.stateFile);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncFolder(layout.stateFolder);
}
