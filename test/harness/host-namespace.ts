// A private mount namespace that looks like a host set up for fleet-login, without touching the
// machine's own files. /etc, /var/lib and /usr/local are overlays whose changes land in a scratch folder.
// /run and /var/log are empty tmpfs mounts, and nsswitch.conf reads `files cache`.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const READY_TIMEOUT_MS = 10_000;
const DEFAULT_RUN_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 2_000;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface HostNamespace {
  /** Scratch folder (mode 0755) outside the private mounts, visible inside too; close() removes it. */
  readonly scratch: string;
  /** Runs a command inside the namespace and collects its output. */
  run(command: string, args?: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a long-running command inside the namespace; close() stops it if it still runs. */
  spawn(command: string, args?: readonly string[]): ChildProcess;
  /** Writes a root-owned file inside the namespace, creating parent folders. */
  writeFile(path: string, content: string | Buffer, mode?: number): Promise<void>;
  /** Stops every process started through the namespace, ends it and removes the scratch folder. */
  close(): Promise<void>;
}

/** The shell script that sets the namespace up, then keeps it alive until its stdin closes. */
const SETUP_SCRIPT = `set -eu
ns="$1"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$ns/etc-upper,workdir=$ns/etc-work" /etc
mount -t overlay overlay -o "lowerdir=/var/lib,upperdir=$ns/var-lib-upper,workdir=$ns/var-lib-work" /var/lib
mount -t overlay overlay -o "lowerdir=/usr/local,upperdir=$ns/usr-local-upper,workdir=$ns/usr-local-work" /usr/local
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -m 755 /run/sshd
mount -t tmpfs -o mode=755 tmpfs /var/log
sed -E 's/^(passwd|group|shadow):.*/\\1: files cache/' /etc/nsswitch.conf > /etc/nsswitch.conf.new
mv /etc/nsswitch.conf.new /etc/nsswitch.conf
echo ready
exec cat > /dev/null
`;

/**
 * Starts the namespace. Needs root, unshare and nsenter (util-linux) and overlayfs. The holder
 * process exits when this Node process ends, so a crashed test leaves no mounts behind.
 */
export async function startHostNamespace(): Promise<HostNamespace> {
  const scratch = await mkdtemp(join(tmpdir(), 'fleet-login-host-'));
  // The overlay upper folder's mode becomes the merged folder's, and mkdtemp's 0700 would hide /etc from the user nobody.
  await chmod(scratch, 0o755);
  const nsFolder = join(scratch, 'ns');
  for (const name of [
    'etc-upper',
    'etc-work',
    'var-lib-upper',
    'var-lib-work',
    'usr-local-upper',
    'usr-local-work',
  ]) {
    await mkdir(join(nsFolder, name), { recursive: true, mode: 0o755 });
  }

  const holder = spawn(
    'unshare',
    ['-m', '--propagation', 'private', 'bash', '-c', SETUP_SCRIPT, 'setup', nsFolder],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  try {
    await waitForReady(holder);
  } catch (error) {
    holder.kill('SIGKILL');
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  return new NamespaceHandle(scratch, holder);
}

/** Runs `body` with a fresh namespace and always cleans it up. */
export async function withHostNamespace<T>(body: (host: HostNamespace) => Promise<T>): Promise<T> {
  const host = await startHostNamespace();
  try {
    return await body(host);
  } finally {
    await host.close();
  }
}

class NamespaceHandle implements HostNamespace {
  private readonly children = new Set<ChildProcess>();

  constructor(
    readonly scratch: string,
    private readonly holder: ChildProcess,
  ) {}

  private enterArgs(command: string, args: readonly string[]): string[] {
    if (this.holder.pid === undefined) throw new Error('the namespace holder process has no pid');
    return ['-t', String(this.holder.pid), '-m', '--', command, ...args];
  }

  spawn(command: string, args: readonly string[] = []): ChildProcess {
    const child = spawn('nsenter', this.enterArgs(command, args), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  run(command: string, args: readonly string[] = [], options: RunOptions = {}): Promise<RunResult> {
    const stdin = options.input === undefined ? 'ignore' : 'pipe';
    const child = spawn('nsenter', this.enterArgs(command, args), {
      stdio: [stdin, 'pipe', 'pipe'],
      env: options.env ?? process.env,
    });
    this.children.add(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    // A command may exit before reading its input; that EPIPE is not the test's failure.
    child.stdin?.on('error', () => {});
    child.stdin?.end(options.input);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS);
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        resolve({
          code,
          signal,
          stdout: Buffer.concat(stdout).toString(),
          stderr: Buffer.concat(stderr).toString(),
        });
      });
    });
  }

  async writeFile(path: string, content: string | Buffer, mode = 0o644): Promise<void> {
    const source = join(this.scratch, `.write-${randomBytes(6).toString('hex')}`);
    await writeFile(source, content);
    try {
      const result = await this.run('install', [
        '-D',
        '-o',
        'root',
        '-g',
        'root',
        '-m',
        mode.toString(8),
        source,
        path,
      ]);
      if (result.code !== 0) throw new Error(`writing ${path} in the namespace failed: ${result.stderr}`);
    } finally {
      await rm(source, { force: true });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((child) => stopProcess(child)));
    this.holder.stdin?.end();
    await stopProcess(this.holder);
    await rm(this.scratch, { recursive: true, force: true });
  }
}

/** Sends SIGTERM, then SIGKILL after a grace period, and waits for the exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

function waitForReady(holder: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    let stdout = '';
    const timer = setTimeout(
      () => reject(new Error(`the namespace was not ready after ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    holder.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    holder.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    holder.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    holder.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`setting up the mount namespace failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}
