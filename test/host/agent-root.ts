// Test helper: a temporary root folder with a bundle store, keyring and config, and the agent's CLI run in-process.

import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main } from '../../host/cli.ts';
import type { CliIo } from '../../host/exit-codes.ts';
import { LINK_PATHS } from '../../host/layout.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { createTestSigner, publishTestBundle, type TestBundle, type TestSigner } from './bundle-fixture.ts';

export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The JSON log lines from stderr. */
  logs: Record<string, unknown>[];
}

export interface AgentRoot {
  folder: string;
  root: string;
  store: LocalFolderStore;
  storeFolder: string;
  configPath: string;
  signer: TestSigner;
  publish(
    bundle: Omit<TestBundle, 'hostClass'> & { hostClass?: string },
  ): ReturnType<typeof publishTestBundle>;
  run(args: readonly string[], io?: Partial<CliIo>): Promise<AgentRun>;
  sync(io?: Partial<CliIo>): Promise<AgentRun>;
  /** Reads a bundle file through the host path the agent links (e.g. etc/passwd.cache). */
  readInstalled(name: BundleFileName): Promise<Buffer | undefined>;
  cleanup(): Promise<void>;
}

/** The shadow gid the test root's /etc/group declares. */
export const TEST_SHADOW_GID = 42;

export async function createAgentRoot(hostClass = 'general'): Promise<AgentRoot> {
  const folder = await mkdtemp(join(tmpdir(), 'fleet-login-agent-test-'));
  const root = join(folder, 'root');
  const storeFolder = join(folder, 'store');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(storeFolder);
  await writeFile(join(root, 'etc/group'), `root:x:0:\nshadow:x:${TEST_SHADOW_GID}:\n`);
  const signer = createTestSigner();
  const keyringFile = join(folder, 'keyring.pem');
  await writeFile(keyringFile, signer.publicKeyPem);
  const configPath = join(folder, 'agent.json');
  await writeFile(
    configPath,
    JSON.stringify({ hostClass, source: { type: 'folder', path: storeFolder }, keyringFile, root }),
  );
  const store = new LocalFolderStore(storeFolder);

  const run = async (args: readonly string[], io: Partial<CliIo> = {}): Promise<AgentRun> => {
    let stdout = '';
    let stderr = '';
    const code = await main(args, {
      stdout: (text) => {
        stdout += text;
      },
      stderr: (text) => {
        stderr += text;
      },
      ...io,
    });
    const logs = stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { code, stdout, stderr, logs };
  };

  return {
    folder,
    root,
    store,
    storeFolder,
    configPath,
    signer,
    publish: (bundle) => publishTestBundle(store, signer.signingKey, { hostClass, ...bundle }),
    run,
    sync: (io) => run(['sync', '--config', configPath], io),
    readInstalled: (name) => readFile(join(root, LINK_PATHS[name])).catch(() => undefined),
    cleanup: () => rm(folder, { recursive: true, force: true }),
  };
}

/**
 * Describes every entry under the root except the agent's bookkeeping (state.json): type,
 * mode, owner, link target and content hash. Two equal snapshots mean no installed file changed.
 */
export async function snapshotTree(root: string): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  const walk = async (folder: string) => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name);
      const key = relative(root, path);
      if (key === 'var/lib/fleet-login/state.json') continue;
      const stats = await lstat(path);
      const owner = `${(stats.mode & 0o7777).toString(8)} ${stats.uid}:${stats.gid}`;
      if (stats.isSymbolicLink()) snapshot[key] = `link -> ${await readlink(path)}`;
      else if (stats.isDirectory()) {
        snapshot[key] = `folder ${owner}`;
        await walk(path);
      } else {
        const hash = createHash('sha256')
          .update(await readFile(path))
          .digest('hex');
        snapshot[key] = `file ${owner} ${hash} mtime ${stats.mtimeMs}`;
      }
    }
  };
  await walk(root);
  return snapshot;
}
