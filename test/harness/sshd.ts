// A real OpenSSH server inside a host namespace, on a free 127.0.0.1 port, plus an ssh client helper.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type HostNamespace, type RunResult, stopProcess } from './host-namespace.ts';

const READY_TIMEOUT_MS = 5_000;
const READY_POLL_MS = 50;
const BIND_ATTEMPTS = 5;

export interface SshdOptions {
  /** Full AuthorizedKeysCommand line, e.g. `/usr/bin/node /tmp/…/agent.mjs authorized-keys %u %U`. */
  authorizedKeysCommand: string;
  authorizedKeysCommandUser?: string;
  /** More sshd_config lines, appended as given. */
  extraConfig?: readonly string[];
}

export interface RunningSshd {
  port: number;
  /** Everything sshd wrote to stderr so far (it runs with -e, so this is its log). */
  log(): string;
  stop(): Promise<void>;
}

export interface SshKey {
  privateKeyPath: string;
  /** The OpenSSH public key line. */
  publicKey: string;
}

/** Creates an Ed25519 key pair without a passphrase in `folder` (private key mode 0600). */
export async function createSshKey(folder: string, name: string, comment = name): Promise<SshKey> {
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const privateKeyPath = join(folder, name);
  await promisify(execFile)('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    comment,
    '-f',
    privateKeyPath,
  ]);
  return { privateKeyPath, publicKey: (await readFile(`${privateKeyPath}.pub`, 'utf8')).trim() };
}

/** The sshd snippet that hosts install, whose AuthorizedKeysCommand line the tests run. */
const SHIPPED_SSHD_SNIPPET = new URL('../../host/units/sshd_config.d-fleet-login.conf', import.meta.url);
/** Where the snippet expects the agent; the tests put their build elsewhere. */
const SHIPPED_AGENT_PATH = '/usr/local/lib/fleet-login/fleet-login-agent.mjs';

/** Where the stand-in logger(1) inside the namespace writes, one line per call. */
export const RECORDED_SYSLOG_PATH = '/var/log/fleet-login-test-syslog';

/**
 * Stands in for logger(1) inside the namespace: /usr/local/bin (an overlay) comes first on sshd's
 * PATH, so the agent's syslog lines land in RECORDED_SYSLOG_PATH (on the namespace's /var/log
 * tmpfs) instead of the machine's journal, which /dev/log would reach.
 */
const RECORDING_LOGGER = `#!/bin/sh
printf '%s\\n' "$*" >> ${RECORDED_SYSLOG_PATH}
`;

/**
 * Copies the built agent into the scratch folder, mode 0644 in a 0755 folder, so that sshd's
 * AuthorizedKeysCommandUser (nobody) can read it, and puts the recording logger(1) in place.
 * Returns the shipped snippet's AuthorizedKeysCommand value with the copy's path, so tests run
 * the arguments hosts run (`%u %U`). sshd checks the ownership of /usr/bin/node and its parents
 * only, not of the script.
 */
export async function installAgentForSshd(host: HostNamespace, bundlePath: string): Promise<string> {
  const folder = join(host.scratch, 'agent');
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const scriptPath = join(folder, 'fleet-login-agent.mjs');
  await copyFile(bundlePath, scriptPath);
  await host.writeFile('/usr/local/bin/logger', RECORDING_LOGGER, 0o755);
  // The agent runs as nobody, so the record must be writable by everyone.
  await host.writeFile(RECORDED_SYSLOG_PATH, '', 0o666);
  return (await shippedAuthorizedKeysCommand()).replace(SHIPPED_AGENT_PATH, scriptPath);
}

/** Returns what the agent sent to logger(1) inside the namespace so far. */
export async function readRecordedSyslog(host: HostNamespace): Promise<string> {
  const result = await host.run('cat', [RECORDED_SYSLOG_PATH]);
  return result.stdout;
}

/** Returns the AuthorizedKeysCommand value of host/units/sshd_config.d-fleet-login.conf. */
export async function shippedAuthorizedKeysCommand(): Promise<string> {
  const snippet = await readFile(SHIPPED_SSHD_SNIPPET, 'utf8');
  const line = snippet.split('\n').find((entry) => entry.startsWith('AuthorizedKeysCommand '));
  const command = line?.slice('AuthorizedKeysCommand '.length).trim();
  if (!command?.includes(SHIPPED_AGENT_PATH)) {
    throw new Error(
      `the sshd snippet ${SHIPPED_SSHD_SNIPPET.pathname} has no AuthorizedKeysCommand running ${SHIPPED_AGENT_PATH}`,
    );
  }
  return command;
}

/** Starts `/usr/sbin/sshd -D -e` in the namespace and waits until it listens. */
export async function startSshd(host: HostNamespace, options: SshdOptions): Promise<RunningSshd> {
  const folder = join(host.scratch, `sshd-${randomBytes(4).toString('hex')}`);
  await mkdir(folder, { mode: 0o755 });
  const hostKey = await createSshKey(folder, 'host_ed25519_key');
  const configPath = join(folder, 'sshd_config');
  await writeFile(configPath, sshdConfig(hostKey.privateKeyPath, options), { mode: 0o644 });

  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const sshd = host.spawn('/usr/sbin/sshd', ['-D', '-e', '-f', configPath, '-p', String(port)]);
    let log = '';
    sshd.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
    });
    const running: RunningSshd = { port, log: () => log, stop: () => stopProcess(sshd) };
    const outcome = await waitForListening(
      () => log,
      () => sshd.exitCode !== null || sshd.signalCode !== null,
      port,
    );
    if (outcome === 'listening') return running;
    await running.stop();
    // Another process took the port between freePort() and the bind: pick a new one.
    if (outcome === 'port-taken' && attempt < BIND_ATTEMPTS) continue;
    throw new Error(`sshd did not start on 127.0.0.1 port ${port} (${outcome}):\n${log}`);
  }
}

/** Client options shared by every ssh call: key authentication only, no config, no known hosts. */
function clientOptions(key: SshKey, port: number): string[] {
  return [
    '-F',
    '/dev/null',
    '-i',
    key.privateKeyPath,
    '-p',
    String(port),
    '-o',
    'BatchMode=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
  ];
}

/** Runs `ssh … USER@127.0.0.1 COMMAND` inside the namespace with key authentication only. */
export function sshCommand(
  host: HostNamespace,
  options: { user: string; port: number; key: SshKey; command: string },
): Promise<RunResult> {
  return host.run('ssh', [
    '-n',
    ...clientOptions(options.key, options.port),
    `${options.user}@127.0.0.1`,
    options.command,
  ]);
}

export interface SshTunnel {
  /** The local end on 127.0.0.1 that forwards to the target port through sshd. */
  localPort: number;
  stop(): Promise<void>;
}

/**
 * Starts `ssh -N -L 127.0.0.1:LOCAL:127.0.0.1:TARGET USER@127.0.0.1` inside the namespace: a
 * tunnel without a shell or command. Resolves once the local end accepts connections; rejects
 * with ssh's output when ssh exits first.
 */
export async function openSshTunnel(
  host: HostNamespace,
  options: { user: string; port: number; key: SshKey; targetPort: number },
): Promise<SshTunnel> {
  const localPort = await freePort();
  const forward = `127.0.0.1:${localPort}:127.0.0.1:${options.targetPort}`;
  const ssh = host.spawn('ssh', [
    '-N',
    '-L',
    forward,
    '-o',
    'ExitOnForwardFailure=yes',
    ...clientOptions(options.key, options.port),
    `${options.user}@127.0.0.1`,
  ]);
  let output = '';
  ssh.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const tunnel = { localPort, stop: () => stopProcess(ssh) };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (ssh.exitCode !== null || ssh.signalCode !== null) {
      throw new Error(`ssh -N -L ${forward} exited with ${ssh.exitCode ?? ssh.signalCode}: ${output}`);
    }
    if (await accepts(localPort)) return tunnel;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  await tunnel.stop();
  throw new Error(`ssh -N -L ${forward} did not listen within ${READY_TIMEOUT_MS} ms: ${output}`);
}

/** True when something on 127.0.0.1 accepts a TCP connection on `port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function sshdConfig(hostKeyPath: string, options: SshdOptions): string {
  const lines = [
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKeyPath}`,
    // Without this line sshd -D writes /run/sshd.pid. /run is a tmpfs here, but no pid file is needed.
    'PidFile none',
    'UsePAM yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'AuthorizedKeysFile none',
    `AuthorizedKeysCommand ${options.authorizedKeysCommand}`,
    `AuthorizedKeysCommandUser ${options.authorizedKeysCommandUser ?? 'nobody'}`,
    'PrintMotd no',
    // The readiness line "Server listening on …" is logged at INFO, so the level must not go lower.
    'LogLevel VERBOSE',
    ...(options.extraConfig ?? []),
  ];
  return `${lines.join('\n')}\n`;
}

async function waitForListening(
  log: () => string,
  exited: () => boolean,
  port: number,
): Promise<'listening' | 'port-taken' | 'exited' | 'timed out'> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (log().includes(`Server listening on 127.0.0.1 port ${port}.`)) return 'listening';
    if (exited()) return log().includes('Address already in use') ? 'port-taken' : 'exited';
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  return 'timed out';
}

/** Asks the kernel for a free port on 127.0.0.1 and releases it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
