// Installs the active LDAP server certificate, key and trust bundle on an LDAP server host, then reloads.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { FleetLoginError } from '../errors.ts';
import type { ParameterReader } from '../parameters.ts';
import { checkCertificatePair } from './checks.ts';
import { joinPem } from './crypto.ts';
import { loadTlsMaterial } from './tls-material.ts';

const execFileAsync = promisify(execFile);

/** How long the reload command may run before it is killed and the install reported as failed. */
export const RELOAD_TIMEOUT_MS = 60_000;

export interface ServerInstallOptions {
  reader: ParameterReader;
  prefix: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Shell command run after any file changed, such as `systemctl restart slapd`, or undefined for none. */
  reloadCommand: string | undefined;
  now?: () => Date;
}

export interface ServerInstallResult {
  /** Files whose content changed, in the order they were replaced. */
  changed: string[];
  reloaded: boolean;
}

/**
 * Reads the active server certificate, key and trust bundle, checks them, and replaces each file that differs
 * by writing a temporary file and renaming it over the old one. Runs the reload command only after a change.
 */
export async function installLdapServerCert(options: ServerInstallOptions): Promise<ServerInstallResult> {
  const material = await loadTlsMaterial(options.reader, 'server', options.prefix);
  const caPem = joinPem(material.ca);
  await checkCertificatePair({
    label: 'server certificate',
    pair: { certPem: material.cert, keyPem: material.key },
    anchorsPem: caPem,
    usage: 'server',
    now: (options.now ?? (() => new Date()))(),
    maxLifetimeMs: Number.POSITIVE_INFINITY,
  });

  // The trust bundle goes first, because a bundle with more CAs accepts everything the old one did. The
  // certificate and key are two renames, so a slapd that restarts between them could read a mismatched pair.
  // The reload command runs only after both.
  const files: [string, string, number][] = [
    [options.caFile, caPem, 0o644],
    [options.certFile, material.cert, 0o644],
    [options.keyFile, material.key, 0o600],
  ];
  const changed: string[] = [];
  for (const [path, content, mode] of files) {
    if ((await readIfExists(path)) === content) continue;
    await writeFileAtomically(path, content, mode);
    changed.push(path);
  }

  // NOTE: after a failed reload, the next run finds the files current and does not reload. The error asks
  // for a reload by hand.
  if (changed.length === 0 || options.reloadCommand === undefined) return { changed, reloaded: false };
  await runReloadCommand(options.reloadCommand);
  return { changed, reloaded: true };
}

/**
 * Writes `content` to a temporary file beside `path`, syncs it and renames it over `path`. An existing file's
 * mode and owner carry over, so a key that slapd's own user reads stays readable to it.
 */
export async function writeFileAtomically(path: string, content: string, defaultMode: number): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', existing ? existing.mode & 0o777 : defaultMode);
  try {
    if (existing) {
      await handle.chown(existing.uid, existing.gid);
      await handle.chmod(existing.mode & 0o777);
    }
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw new FleetLoginError(`writing ${path} failed`, { cause: error });
  }
  await handle.close();

  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FleetLoginError(`reading ${path} failed`, { cause: error });
  }
}

async function runReloadCommand(command: string): Promise<void> {
  try {
    await execFileAsync('/bin/sh', ['-c', command], { timeout: RELOAD_TIMEOUT_MS });
  } catch (error) {
    throw new FleetLoginError(
      `reload command "${command}" failed; the new files are in place, so run it by hand`,
      {
        cause: error,
      },
    );
  }
}
