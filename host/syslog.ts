// Sends one line to the system log through logger(1). sshd passes an AuthorizedKeysCommand's stderr
// on only while it logs to stderr (-e or -d). OpenSSH 9.2p1 dropped it when logging elsewhere, so a
// line that an operator must see on a production host goes to syslog as well.

/** Time logger(1) may take before it is abandoned, so that a stuck syslog cannot hold up a login. */
const LOGGER_TIMEOUT_MS = 1_000;

/**
 * Writes `message` to syslog with facility auth, as sshd's own lines are, at level warning.
 * Best effort: without logger(1) or a syslog socket the line is lost, and stderr still has it.
 */
export function writeAuthSyslog(message: string): void {
  // Loaded here, not imported, so that the logins that never get here do not pay for the module.
  const { spawnSync } = process.getBuiltinModule('node:child_process');
  spawnSync('logger', ['-t', 'fleet-login-agent', '-p', 'auth.warning', '--', message], {
    stdio: 'ignore',
    timeout: LOGGER_TIMEOUT_MS,
  });
}
