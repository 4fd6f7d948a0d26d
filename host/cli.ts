// Command-line front of fleet-login-agent: parses arguments, runs one command, maps errors to exit codes.
// Only the authorized-keys path is imported eagerly, because sshd runs it twice per login and its
// start-up time adds to login latency. Sync and status load zod and the store lazily. The bundle
// embeds commands.ts as a separate module text, so authorized-keys does not even parse it.

import { parseArgs } from 'node:util';
import { lookUpAuthorizedKeys, type WithheldKeys } from './authorized-keys.ts';
import { type CliIo, EXIT } from './exit-codes.ts';
import { createJsonLogger } from './log.ts';
import { writeAuthSyslog } from './syslog.ts';

export const HELP_TEXT = `Usage: fleet-login-agent [options] <command>

Commands:
  sync                  Fetch this host class's bundle, verify it and install it atomically.
  status [--json]       Show the installed bundle: host class, serial, issue time, age,
                        expiry, last success and last error.
  authorized-keys USER [UID]
                        Print USER's SSH public keys, one per line, for sshd's
                        AuthorizedKeysCommand (sshd_config: authorized-keys %u %U). Prints
                        nothing for an unknown or invalid name. With UID, prints the keys only
                        when passwd.cache gives USER that uid, so that a bundle name equal to a
                        local account's name never unlocks the local account.

Options:
  --config FILE  Agent config file (JSON). Default: /etc/fleet-login/agent.json
  --root DIR     Treat DIR as the file system root (for tests). Overrides "root" in the config;
                 authorized-keys reads DIR/etc/sshkey.cache and never reads the config.
  --json         status: print one JSON object instead of text.
  -h, --help     Print this help.

Exit codes:
  0  success: a bundle was installed, or nothing changed
  1  unexpected error; the log on stderr has details
  2  usage or config error
  3  fetch failed; the installed bundle is kept
  4  bundle rejected by a check (signature, key-id, host-class, expiry, serial, file-hash,
     format); nothing changed. Also when the installed bundle fails the keyring or expiry
     check again; it stays installed
  5  install failed, or a path the agent writes is read-only, full or not writable (the
     message names it); the next sync retries, or completes an install that went live
  6  status: no bundle installed, its manifest is unreadable, or it is expired or older
     than maxStalenessSeconds
  7  another fleet-login-agent sync is running
`;

const LOCAL_ACCOUNT_MESSAGE = 'keys not printed: the name belongs to a local account with another uid';
const NOT_IN_PASSWD_MESSAGE = 'keys not printed: passwd.cache has no entry for the user';

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const OPTIONS = {
  config: { type: 'string' },
  root: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the command in `argv` (without node and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  // The user name comes from sshd's %u, which a client chooses: it is taken as the word after the
  // command, never parsed as an option, so a name such as `--root=/tmp` cannot change the root.
  const keysAt = argv.indexOf('authorized-keys');
  const optionArgs = keysAt >= 0 ? argv.slice(0, keysAt) : argv;
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...optionArgs], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`fleet-login-agent: ${(error as Error).message}\n\n${HELP_TEXT}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout(HELP_TEXT);
    return EXIT.ok;
  }

  if (keysAt >= 0) return runAuthorizedKeys(argv.slice(keysAt + 1), values.root ?? '/', positionals, io);
  const [command, ...rest] = positionals;
  if (rest.length > 0 || (command !== 'sync' && command !== 'status')) {
    io.stderr(
      `fleet-login-agent: expected one command: sync, status or authorized-keys USER\n\n${HELP_TEXT}`,
    );
    return EXIT.usage;
  }
  const { runCommand } = await import('./commands.ts');
  return runCommand(
    command,
    { configPath: values.config, root: values.root, json: values.json ?? false },
    io,
  );
}

function runAuthorizedKeys(
  args: readonly string[],
  root: string,
  before: readonly string[],
  io: CliIo,
): number {
  const [user, uidText] = args;
  const uid = uidText === undefined ? undefined : parseUid(uidText);
  if (user === undefined || args.length > 2 || before.length > 0 || Number.isNaN(uid)) {
    io.stderr('fleet-login-agent: usage: fleet-login-agent [--root DIR] authorized-keys USER [UID]\n');
    return EXIT.usage;
  }
  try {
    const result = lookUpAuthorizedKeys(root, user, uid);
    if (result.withheld) reportWithheld(io, user, result.withheld);
    io.stdout(result.text);
    return EXIT.ok;
  } catch (error) {
    // sshd logs this line when run with -e and, because the exit code is non-zero, ignores any output.
    createJsonLogger(io.stderr, io.now).error('reading the key caches failed', {
      phase: 'authorized-keys',
      error: String(error),
    });
    return EXIT.unexpected;
  }
}

/** Parses sshd's %U, a decimal uid; NaN for anything else. */
function parseUid(text: string): number {
  return /^\d{1,10}$/.test(text) ? Number(text) : Number.NaN;
}

/** Logs withheld keys on stderr (for sshd -e) and in syslog (for sshd in daemon mode). */
function reportWithheld(io: CliIo, user: string, withheld: WithheldKeys): void {
  // sshd resolves names through nsswitch, files first: another uid means a local account has the name.
  const localAccount = withheld.reason === 'uid-differs';
  const fields = { phase: 'authorized-keys', user, uid: withheld.uid, bundleUid: withheld.bundleUid };
  createJsonLogger(io.stderr, io.now).warn(
    localAccount ? LOCAL_ACCOUNT_MESSAGE : NOT_IN_PASSWD_MESSAGE,
    fields,
  );

  const reason = localAccount
    ? `the name belongs to a local account with uid ${withheld.uid}, and the bundle gives uid ${withheld.bundleUid}`
    : 'passwd.cache has no entry for the name';
  (io.authSyslog ?? writeAuthSyslog)(`keys of ${user} not printed: ${reason}`);
}
