// Test helpers for the agent against an S3-protocol server: a bucket on loopback fauxqs behind a
// recording proxy, bundles published by the real publisher, and the built agent run as a process.

import { spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { ABSENT_FILE_CONTENTS } from '../../host/install.ts';
import { LINK_PATHS } from '../../host/layout.ts';
import { buildAgent } from '../../scripts/build-agent.ts';
import { BUNDLE_FILE_NAMES, type BundleFileName, sha256Hex } from '../../shared/bundle/manifest.ts';
import { type ClassPublishResult, publishBundles } from '../../shared/bundle/publish.ts';
import type { DirectorySnapshot } from '../../shared/directory/model.ts';
import { type Policy, parsePolicy } from '../../shared/policy/policy.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { FAUXQS_REGION, type LoopbackFauxqs, startLoopbackFauxqs } from '../harness/fauxqs.ts';
import { createTestSigner, makePerson, type TestSigner } from './bundle-fixture.ts';
import { type RecordingProxy, startRecordingProxy } from './recording-proxy.ts';

export const BUNDLE_BUCKET = 'fleet-login-bundles';
export const NO_SHELL = '/usr/local/sbin/fleet-login-no-shell';
export const ADMIN_COMMANDS = ['/usr/bin/systemctl', '/usr/bin/journalctl'];

/** Three host classes: everyone on general, engineering on bastions without a shell, sudo for sre on prod-admin. */
export const POLICY_YAML = `hostClasses:
  general:
    allowGroups: ['*']
  bastion:
    allowGroups: [engineering]
    shellOverride: ${NO_SHELL}
  prod-admin:
    allowGroups: [sre, auditors]
    sudo:
      - group: sre
        commands: [${ADMIN_COMMANDS.join(', ')}]
`;
export const POLICY = parsePolicy(POLICY_YAML, 'test policy');

/** Builds the directory behind the policy; `keys` gives people their SSH public keys. */
export function makeSnapshot(keys: Record<string, string[]> = {}): DirectorySnapshot {
  const person = (name: string, uid: number, status: 'active' | 'disabled' = 'active') =>
    makePerson(name, uid, { status, sshPublicKeys: keys[name] ?? [] });
  const people = [
    person('ana', 60001),
    person('bruno', 60002),
    person('chen', 60003),
    person('dana', 60004),
    person('erin', 60005, 'disabled'),
  ];
  const groups = [
    ...people.map((p) => ({ name: p.username, gidNumber: p.uidNumber, members: [] })),
    { name: 'sre', gidNumber: 61001, members: ['ana', 'erin'] },
    { name: 'auditors', gidNumber: 61002, members: ['bruno'] },
    { name: 'engineering', gidNumber: 61003, members: ['ana', 'chen', 'erin'] },
  ];
  return { people, groups, readAt: new Date().toISOString() };
}

/** A bucket on loopback fauxqs, the proxy the agent talks through, and the publisher's signer. */
export interface S3Bundles {
  fauxqs: LoopbackFauxqs;
  proxy: RecordingProxy;
  /** The publisher's view of the bucket, straight to fauxqs, so its requests are not recorded. */
  store: S3ObjectStore;
  signer: TestSigner;
  publish(snapshot: DirectorySnapshot, policy?: Policy): Promise<ClassPublishResult[]>;
  stop(): Promise<void>;
}

export async function startS3Bundles(): Promise<S3Bundles> {
  const fauxqs = await startLoopbackFauxqs();
  await fauxqs.s3.send(new CreateBucketCommand({ Bucket: BUNDLE_BUCKET }));
  const proxy = await startRecordingProxy(fauxqs.endpoint);
  const store = new S3ObjectStore({ bucket: BUNDLE_BUCKET, client: fauxqs.s3 });
  const signer = createTestSigner();
  return {
    fauxqs,
    proxy,
    store,
    signer,
    publish: (snapshot, policy = POLICY) =>
      publishBundles({ snapshot, policy, store, signingKey: signer.signingKey }),
    async stop() {
      await proxy.stop();
      await fauxqs.stop();
    },
  };
}

export interface AgentProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSON log lines from stderr. */
  logs: Record<string, unknown>[];
}

/**
 * Environment of an agent process: static test credentials for the SDK's default chain, and IMDS
 * switched off so that a missing credential can never send a request off this machine.
 */
export function agentEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  };
}

/** Parses the agent's JSON log lines. */
export function parseLogs(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs `node <agent> ARGS` as a child process and collects its output. */
export function runAgentProcess(
  agentPath: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = agentEnvironment(),
): Promise<AgentProcessResult> {
  const child = spawn(process.execPath, [agentPath, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      const text = Buffer.concat(stderr).toString();
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout).toString(),
        stderr: text,
        logs: parseLogs(text),
      });
    });
  });
}

/** Builds the agent into a new scratch folder; `cleanup` removes the folder. */
export async function buildAgentInto(): Promise<{
  folder: string;
  agentPath: string;
  cleanup: () => Promise<void>;
}> {
  const folder = await mkdtemp(join(tmpdir(), 'fleet-login-agent-build-'));
  const agentPath = await buildAgent(join(folder, 'fleet-login-agent.mjs'));
  return { folder, agentPath, cleanup: () => rm(folder, { recursive: true, force: true }) };
}

/** Agent config for an s3 source reached through `endpoint`. */
export function s3AgentConfig(options: {
  hostClass: string;
  endpoint: string;
  keyringFile: string;
  root: string;
}): Record<string, unknown> {
  return {
    hostClass: options.hostClass,
    source: {
      type: 's3',
      bucket: BUNDLE_BUCKET,
      region: FAUXQS_REGION,
      endpoint: options.endpoint,
      forcePathStyle: true,
    },
    keyringFile: options.keyringFile,
    root: options.root,
  };
}

export interface S3AgentHost {
  folder: string;
  root: string;
  configPath: string;
  sync(env?: NodeJS.ProcessEnv): Promise<AgentProcessResult>;
  run(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<AgentProcessResult>;
  /** Rewrites the config so that later runs reach S3 through `endpoint`. */
  useEndpoint(endpoint: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** The shadow gid the test root's /etc/group declares. */
export const S3_HOST_SHADOW_GID = 42;

/** Creates a temporary root for one host of `hostClass` whose agent polls through `endpoint`. */
export async function createS3AgentHost(
  agentPath: string,
  bundles: S3Bundles,
  hostClass: string,
  endpoint: string = bundles.proxy.endpoint,
): Promise<S3AgentHost> {
  const folder = await mkdtemp(join(tmpdir(), `fleet-login-s3-host-${hostClass}-`));
  const root = join(folder, 'root');
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc/group'), `root:x:0:\nshadow:x:${S3_HOST_SHADOW_GID}:\n`);
  const keyringFile = join(folder, 'keyring.pem');
  await writeFile(keyringFile, bundles.signer.publicKeyPem);
  const configPath = join(folder, 'agent.json');
  const writeConfig = (url: string) =>
    writeFile(configPath, JSON.stringify(s3AgentConfig({ hostClass, endpoint: url, keyringFile, root })));
  await writeConfig(endpoint);
  const run = (args: readonly string[], env?: NodeJS.ProcessEnv) =>
    runAgentProcess(agentPath, [...args, '--config', configPath], env);
  return {
    folder,
    root,
    configPath,
    run,
    sync: (env) => run(['sync'], env),
    useEndpoint: writeConfig,
    cleanup: () => rm(folder, { recursive: true, force: true }),
  };
}

/** Reads every bundle file through its host path under `root`; a missing one maps to undefined. */
export async function readVisibleFiles(root: string): Promise<Map<BundleFileName, Buffer | undefined>> {
  const visible = new Map<BundleFileName, Buffer | undefined>();
  for (const name of BUNDLE_FILE_NAMES) {
    visible.set(name, await readFile(join(root, LINK_PATHS[name])).catch(() => undefined));
  }
  return visible;
}

/**
 * True when the host shows exactly `files`: each one byte for byte, and for every other bundle
 * file either nothing or the agent's stand-in for an absent file (a drop-in without rules).
 */
export function showsExactly(
  visible: ReadonlyMap<BundleFileName, Buffer | undefined>,
  files: ReadonlyMap<BundleFileName, Buffer>,
): boolean {
  return BUNDLE_FILE_NAMES.every((name) => {
    const actual = visible.get(name);
    const expected = files.get(name) ?? ABSENT_FILE_CONTENTS[name];
    return expected === undefined ? actual === undefined : actual?.equals(expected) === true;
  });
}

/**
 * Describes every entry under `root` with its inode, size, mode, times and content hash, so that
 * any write shows as a difference. `run/` is left out: the lock file is created and removed there
 * on every run, and on a host /run is a tmpfs.
 */
export async function stampTree(root: string): Promise<Record<string, string>> {
  const stamps: Record<string, string> = {};
  const walk = async (folder: string) => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name);
      const key = relative(root, path);
      if (key === 'run') continue;
      const stats = await lstat(path);
      const times = `${stats.mtimeMs}/${stats.ctimeMs}`;
      let content = '';
      if (stats.isSymbolicLink()) content = await readlink(path);
      else if (stats.isFile()) content = sha256Hex(await readFile(path));
      stamps[key] = `${stats.ino} ${stats.mode.toString(8)} ${stats.size} ${times} ${content}`;
      if (stats.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return stamps;
}
