// Installed state: the live generation's manifest (the truth) and state.json (ETag, last success, last error).

import { createHash } from 'node:crypto';
import { mkdir, readFile, readlink, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BUNDLE_FILE_NAMES, type BundleFileEntry, type BundleFileName } from '../shared/bundle/manifest.ts';
import { errorMessage, FleetLoginError } from '../shared/errors.ts';
import { type FileOwnership, syncFolder, temporarySibling, writeNewFileSynced } from './durable-fs.ts';
import { type AgentLayout, MANIFEST_FILE } from './layout.ts';

/** The installed bundle as read back from `current/manifest.json`. */
export interface InstalledBundle {
  /** Generation folder name, the target of the `current` link. */
  generation: string;
  /** The signed manifest object as installed, verified again against the keyring on every sync. */
  envelope: Buffer;
  /** The signed payload text, compared byte for byte with a fetched manifest of the same serial. */
  payload: string;
  hostClass: string;
  serial: number;
  issuedAt: string;
  expiresAt: string;
  files: Partial<Record<BundleFileName, BundleFileEntry>>;
}

/** Size, times, mode and owner of an installed file when it was installed or last hashed. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  mode: number;
  uid: number;
  gid: number;
}

/** The bundle the agent last installed or confirmed: the serial floor and the stamps of its files. */
export interface InstalledRecord {
  hostClass: string;
  serial: number;
  /** payloadDigest() of the signed payload, to tell a reused serial from the same bundle. */
  payloadDigest: string;
  generation: string;
  files: Partial<Record<string, FileStamp>>;
}

/**
 * Agent bookkeeping. Losing it costs one full manifest download and one hash of every installed
 * file, and drops the serial floor that protects a host whose installed manifest is unreadable.
 */
export interface AgentState {
  /** ETag of the manifest object last verified, sent as If-None-Match on the next poll. */
  manifestEtag?: string;
  /** When a sync last installed a bundle or confirmed the installed one, ISO-8601. */
  lastSuccessAt?: string;
  lastError?: { at: string; check?: string; message: string };
  installed?: InstalledRecord;
}

/** The installed manifest exists but cannot be read or parsed; the message names the file. */
export class InstalledManifestError extends FleetLoginError {}

const envelopeSchema = z.object({ payload: z.string() });
const payloadSchema = z.object({
  hostClass: z.string(),
  serial: z.number(),
  issuedAt: z.string(),
  expiresAt: z.string(),
  files: z.partialRecord(z.enum(BUNDLE_FILE_NAMES), z.object({ sha256: z.string(), size: z.number() })),
});

const fileStampSchema = z.object({
  size: z.number(),
  mtimeMs: z.number(),
  ctimeMs: z.number(),
  mode: z.number(),
  uid: z.number(),
  gid: z.number(),
});

const stateSchema = z.object({
  manifestEtag: z.string().optional(),
  lastSuccessAt: z.string().optional(),
  lastError: z.object({ at: z.string(), check: z.string().optional(), message: z.string() }).optional(),
  installed: z
    .object({
      hostClass: z.string(),
      serial: z.number(),
      payloadDigest: z.string(),
      generation: z.string(),
      files: z.record(z.string(), fileStampSchema),
    })
    .optional(),
});

/** Returns the first 16 hex digits of the payload's SHA-256, used in generation folder names. */
export function payloadDigest(payload: string): string {
  return createHash('sha256').update(payload).digest('hex').slice(0, 16);
}

/**
 * Reads the manifest of the live generation. Its signature was verified when it was installed and
 * the file is root-owned, so it is parsed without the keyring (a rotated-out key must not make the
 * installed serial unreadable). Returns undefined when nothing is installed yet. Throws
 * InstalledManifestError, naming the file, when it exists but cannot be read or parsed.
 */
export async function readInstalledBundle(layout: AgentLayout): Promise<InstalledBundle | undefined> {
  const path = join(layout.current, MANIFEST_FILE);
  let envelope: Buffer;
  try {
    envelope = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InstalledManifestError(
      `reading the installed manifest ${path} failed: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  const generation = (await readLiveGeneration(layout)) ?? '';
  try {
    const { payload } = parseJson(envelope.toString('utf8'), envelopeSchema);
    return { generation, envelope, payload, ...parseJson(payload, payloadSchema) };
  } catch (error) {
    throw new InstalledManifestError(`the installed manifest ${path} is invalid: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Returns the name of the generation `current` links to, or undefined when there is no such link. */
export async function readLiveGeneration(layout: AgentLayout): Promise<string | undefined> {
  try {
    return (await readlink(layout.current)).split('/').pop();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EINVAL') return undefined;
    throw error;
  }
}

/** Parses JSON text against a schema; throws with a one-line message (an empty file, a missing field). */
function parseJson<T>(text: string, schema: z.ZodType<T>): T {
  if (text.trim() === '') throw new Error('it is empty');
  const parsed = schema.safeParse(JSON.parse(text));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Error(`${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
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

/**
 * Replaces state.json atomically: temp file, fsync, rename, fsync of the folder. Creates the
 * folder, so that a failure before the first install is recorded too.
 */
export async function writeAgentState(layout: AgentLayout, state: AgentState): Promise<void> {
  await mkdir(layout.stateFolder, { recursive: true, mode: 0o755 });
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
