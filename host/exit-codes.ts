// Exit codes of fleet-login-agent and the I/O seam its commands write through.

import type { InstallStep } from './install.ts';

/**
 * Exit codes, also listed in the help text:
 * 0 success (installed, or no change); 1 unexpected error; 2 usage or config error;
 * 3 fetch failed, installed bundle kept; 4 bundle rejected by a check, nothing changed;
 * 5 install failed, the next sync retries or completes it; 6 status found no bundle, or an expired or stale one;
 * 7 another sync holds the lock.
 */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  fetchFailed: 3,
  rejected: 4,
  installFailed: 5,
  stale: 6,
  locked: 7,
} as const;

/** Where a command writes, and the hooks tests inject. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => Date;
  visudoPath?: string;
  onInstallStep?: (step: InstallStep) => void | Promise<void>;
}
