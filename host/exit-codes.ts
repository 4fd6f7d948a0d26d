// Exit codes of fleet-login-agent and the I/O seam its commands write through.

import type { InstallStep } from './install.ts';

/**
 * Exit codes of fleet-login-agent, also listed in its help text.
 * - 0: success (a bundle was installed, or nothing changed).
 * - 1: unexpected error. 2: usage or config error.
 * - 3: fetch failed, and the installed bundle is kept.
 * - 4: bundle rejected by a check, and nothing changed (the installed bundle stays, even when it
 *   is the one that failed).
 * - 5: install failed, or a path the agent writes is read-only, full or not writable. The next
 *   sync retries it, or completes an install that already went live.
 * - 6: status found no bundle, an unreadable one, or an expired or stale one.
 * - 7: another sync has the lock.
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

/** Output streams of a command and the hooks that tests inject. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now?: () => Date;
  visudoPath?: string;
  onInstallStep?: (step: InstallStep) => void | Promise<void>;
  /** Writes a line to syslog (facility auth); default: logger(1). */
  authSyslog?: (message: string) => void;
}
