// A throwaway OpenLDAP slapd for integration tests: temp folder, loopback ports, mutual TLS, stopped by PID.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeTestCertificates } from './test-certs.ts';

const run = promisify(execFile);

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SCHEMA_DIR = '/etc/ldap/schema';
const LPK_SCHEMA = new URL('../../schema/openssh-lpk.schema', import.meta.url);
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const POLL_INTERVAL_MS = 20;
/** Maximum size of the mdb map file; the 50,000-person benchmark directory needs well under 2 GiB. */
const MDB_MAX_BYTES = 2 * 1024 ** 3;

export interface SlapdOptions {
  /** Naming context, e.g. `dc=example,dc=test`; the LDIF must contain its root entry. */
  suffix: string;
  /** LDIF documents (file contents), loaded in order with slapadd before the server starts. */
  ldif?: string[];
  /** LDIF files, loaded with slapadd after `ldif`. */
  ldifFiles?: string[];
  /**
   * Server-side `sizelimit` for every bind except the rootdn, which slapd never limits. Paged
   * searches may still return every entry (`size.prtotal=unlimited`), as directories that allow paging do.
   */
  sizeLimit?: number;
  /** Also listen on plain ldap:// (for StartTLS tests). */
  plainListener?: boolean;
  /**
   * Server certificate, key and the CA that client certificates must chain to. When absent the
   * harness makes its own CA with server and client certificates. `clientCertFile`/`clientKeyFile`
   * are returned to the caller as the client certificate when given.
   */
  tls?: {
    caFile: string;
    certFile: string;
    keyFile: string;
    clientCertFile?: string;
    clientKeyFile?: string;
  };
}

/** PEM strings a client uses; cert and key are absent when the caller brought server files only. */
export interface ClientTls {
  ca: string;
  cert?: string;
  key?: string;
}

export interface SlapdServer {
  /** `ldaps://127.0.0.1:PORT` */
  url: string;
  /** `ldap://127.0.0.1:PORT` when `plainListener` was set. */
  plainUrl?: string;
  suffix: string;
  adminDn: string;
  adminPassword: string;
  tls: ClientTls;
  /** PID of the running slapd; changes on restart. */
  readonly pid: number;
  /** Temp folder with slapd.conf, the database, the certificates and slapd.log. */
  dir: string;
  /** Stops slapd (SIGTERM, SIGKILL after a deadline) and removes the temp folder. */
  stop(): Promise<void>;
  /** Stops slapd and starts it again on the same ports with the same data. */
  restart(): Promise<void>;
}

/** Processes still running when the test worker exits are killed, so a failed test leaves no slapd behind. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts slapd from a new temp folder and resolves once it accepts connections. */
export async function startSlapd(options: SlapdOptions): Promise<SlapdServer> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-login-slapd-'));
  try {
    return await startIn(dir, options);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function startIn(dir: string, options: SlapdOptions): Promise<SlapdServer> {
  const adminDn = `cn=admin,${options.suffix}`;
  const adminPassword = randomBytes(12).toString('hex');
  const tlsFiles = await prepareTls(dir, options.tls);
  const ports = { ldaps: await freePort(), ldap: options.plainListener ? await freePort() : undefined };
  const configFile = join(dir, 'slapd.conf');

  await mkdir(join(dir, 'db'));
  await copyFile(LPK_SCHEMA, join(dir, 'openssh-lpk.schema'));
  await writeFile(configFile, slapdConfig(dir, options, tlsFiles, adminDn, adminPassword));
  await loadLdif(dir, configFile, options);

  const urls = [`ldaps://127.0.0.1:${ports.ldaps}/`];
  if (ports.ldap) urls.push(`ldap://127.0.0.1:${ports.ldap}/`);
  let child = await launch(dir, configFile, urls, ports.ldaps);

  const client: ClientTls = { ca: await readFile(tlsFiles.caFile, 'utf8') };
  if (tlsFiles.clientCertFile && tlsFiles.clientKeyFile) {
    client.cert = await readFile(tlsFiles.clientCertFile, 'utf8');
    client.key = await readFile(tlsFiles.clientKeyFile, 'utf8');
  }

  return {
    url: `ldaps://127.0.0.1:${ports.ldaps}`,
    ...(ports.ldap ? { plainUrl: `ldap://127.0.0.1:${ports.ldap}` } : {}),
    suffix: options.suffix,
    adminDn,
    adminPassword,
    tls: client,
    get pid() {
      return child.pid ?? -1;
    },
    dir,
    async stop() {
      await terminate(dir, child);
      await rm(dir, { recursive: true, force: true });
    },
    async restart() {
      await terminate(dir, child);
      child = await launch(dir, configFile, urls, ports.ldaps);
    },
  };
}

async function prepareTls(
  dir: string,
  given: SlapdOptions['tls'],
): Promise<NonNullable<SlapdOptions['tls']>> {
  if (given) return given;
  const made = await makeTestCertificates(dir, 'slapd');
  return {
    caFile: made.caFile,
    certFile: made.serverCertFile,
    keyFile: made.serverKeyFile,
    clientCertFile: made.clientCertFile,
    clientKeyFile: made.clientKeyFile,
  };
}

function slapdConfig(
  dir: string,
  options: SlapdOptions,
  tls: NonNullable<SlapdOptions['tls']>,
  adminDn: string,
  adminPassword: string,
): string {
  const lines = [
    ...['core', 'cosine', 'nis', 'inetorgperson'].map((name) => `include ${SCHEMA_DIR}/${name}.schema`),
    `include ${join(dir, 'openssh-lpk.schema')}`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(dir, 'slapd.pid')}`,
    `argsfile ${join(dir, 'slapd.args')}`,
    `TLSCACertificateFile ${tls.caFile}`,
    `TLSCertificateFile ${tls.certFile}`,
    `TLSCertificateKeyFile ${tls.keyFile}`,
    'TLSVerifyClient demand',
  ];
  if (options.sizeLimit !== undefined)
    lines.push(
      `sizelimit size.soft=${options.sizeLimit} size.hard=${options.sizeLimit} size.prtotal=unlimited`,
    );
  lines.push(
    'database mdb',
    `maxsize ${MDB_MAX_BYTES}`,
    `suffix "${options.suffix}"`,
    `rootdn "${adminDn}"`,
    `rootpw ${adminPassword}`,
    `directory ${join(dir, 'db')}`,
    'index objectClass eq',
    'index uid,cn,uidNumber,gidNumber,memberUid,member,uniqueMember,employeeNumber eq',
  );
  return `${lines.join('\n')}\n`;
}

async function loadLdif(dir: string, configFile: string, options: SlapdOptions): Promise<void> {
  const files: string[] = [];
  for (const [position, text] of (options.ldif ?? []).entries()) {
    const file = join(dir, `load-${position}.ldif`);
    await writeFile(file, text);
    files.push(file);
  }
  files.push(...(options.ldifFiles ?? []));
  for (const file of files) {
    try {
      // -q skips consistency checks that slow large loads; the test data is generated, not hand-edited.
      await run(SLAPADD, ['-q', '-f', configFile, '-l', file], { maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`slapadd of ${file} failed: ${stderr.trim()}`, { cause: error });
    }
  }
}

async function launch(dir: string, configFile: string, urls: string[], port: number): Promise<ChildProcess> {
  const log = join(dir, 'slapd.log');
  const logFd = openSync(log, 'a');
  // -d 0 keeps slapd in the foreground, so the child is slapd itself and its PID is the pidfile's.
  const child = spawn(SLAPD, ['-d', '0', '-f', configFile, '-h', urls.join(' ')], {
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  running.add(child);
  child.once('exit', () => running.delete(child));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break;
    if (await accepts(port)) return child;
    await sleep(POLL_INTERVAL_MS);
  }
  child.kill('SIGKILL');
  const output = await readFile(log, 'utf8').catch(() => '');
  throw new Error(`slapd did not start on 127.0.0.1:${port}: ${output.trim().slice(-2000)}`);
}

/** Sends SIGTERM to the PID in the pidfile (the child's PID if there is none), then SIGKILL after the deadline. */
async function terminate(dir: string, child: ChildProcess): Promise<void> {
  // Listen before the first await, so an exit that happens meanwhile is not missed.
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  if (child.exitCode !== null || child.signalCode !== null) return;
  const pidText = await readFile(join(dir, 'slapd.pid'), 'utf8').catch(() => '');
  const pid = Number.parseInt(pidText, 10) || child.pid;
  // Checked again after the await: once the child is reaped its PID may belong to another process.
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;

  signal(pid, 'SIGTERM');
  // A test may have paused slapd with SIGSTOP; it handles SIGTERM only once it runs again.
  signal(pid, 'SIGCONT');
  const stoppedInTime = await Promise.race([
    exited.then(() => true),
    sleep(STOP_TIMEOUT_MS).then(() => false),
  ]);
  if (stoppedInTime) return;
  signal(pid, 'SIGKILL');
  await exited;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // The process is already gone.
  }
}

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

/** Returns a loopback port that was free a moment ago; slapd may still lose a race for it. */
export function freePort(): Promise<number> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
