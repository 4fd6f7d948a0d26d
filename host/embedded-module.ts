// Runs the sync and status code that scripts/build-agent.ts embeds in the agent bundle as a string,
// with a V8 code cache in systemd's state directory, so a poll skips compiling it again.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';

/** Cache file in $STATE_DIRECTORY: the SHA-256 of the code it belongs to, then V8's cached data. */
export const CODE_CACHE_FILE = 'agent-code-cache.bin';
const HASH_BYTES = 32;

export interface EmbeddedModule {
  exports: Record<string, unknown>;
  /**
   * Writes the code cache when there was none or V8 rejected it (another Node.js version, another
   * bundle). Call it after the command ran, so the cache contains the functions compiled on the way.
   */
  saveCodeCache: () => void;
}

/**
 * Compiles and runs `code`, a CommonJS bundle, and returns its exports. `codeHash` is the code's
 * SHA-256 in hex. systemd sets STATE_DIRECTORY for the agent's service (StateDirectory=); without
 * it, for instance when run by hand, no cache is read or written.
 */
export function loadEmbeddedModule(
  code: string,
  codeHash: string,
  filename: string,
  env: NodeJS.ProcessEnv = process.env,
): EmbeddedModule {
  // STATE_DIRECTORY lists one path per StateDirectory= entry, separated by colons.
  const stateDirectory = env.STATE_DIRECTORY?.split(':')[0];
  const cacheFile = stateDirectory ? join(stateDirectory, CODE_CACHE_FILE) : undefined;
  const cachedData = cacheFile === undefined ? undefined : readCodeCache(cacheFile, codeHash);

  const wrapped = `(function (exports, require, module) {"use strict";${code}\n})`;
  const script = new Script(wrapped, { filename, ...(cachedData && { cachedData }) });
  const module = { exports: {} as Record<string, unknown> };
  script.runInThisContext()(module.exports, createRequire(import.meta.url), module);

  const saveCodeCache = () => {
    if (cacheFile === undefined || (cachedData !== undefined && !script.cachedDataRejected)) return;
    writeCodeCache(cacheFile, codeHash, script.createCachedData());
  };
  return { exports: module.exports, saveCodeCache };
}

/** Returns the cached data for `codeHash`; undefined when the file is missing, short or for other code. */
function readCodeCache(file: string, codeHash: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return undefined;
  }
  if (bytes.length <= HASH_BYTES || bytes.subarray(0, HASH_BYTES).toString('hex') !== codeHash)
    return undefined;
  return bytes.subarray(HASH_BYTES);
}

/**
 * Writes the cache through a temporary file and a rename, so a reader never sees half a file.
 * Best effort: a failure (read-only or full disk) costs the next run only its compile time, and
 * the sync reports the disk itself when it writes state.
 */
function writeCodeCache(file: string, codeHash: string, data: Buffer): void {
  // The pid keeps concurrent runs apart; the wx flag never follows a planted file or link.
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(codeHash, 'hex'), data]), {
      mode: 0o600,
      flag: 'wx',
    });
    renameSync(temporary, file);
  } catch {
    rmSync(temporary, { force: true });
  }
}
