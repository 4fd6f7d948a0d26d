// Benchmark of the host agent against an S3-protocol server on loopback: full install, no-change
// poll, authorized-keys, and S3 requests per host per day, each as a separate agent process.
// Run alone with `tsx test/bench/agent-bench.ts [--people N] [--polls N]`.

import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { buildAgent } from '../../scripts/build-agent.ts';
import { publishBundles } from '../../shared/bundle/publish.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { startLoopbackFauxqs } from '../harness/fauxqs.ts';
import { createTestSigner } from '../host/bundle-fixture.ts';
import { startRecordingProxy } from '../host/recording-proxy.ts';
import { agentEnvironment, BUNDLE_BUCKET, s3AgentConfig } from '../host/s3-fixture.ts';
import { generateSnapshot } from './generate.ts';
import { printTable } from './publish-agent.ts';

const POLLS_PER_DAY = 24 * 60;
const INSTALL_REPEATS = 3;
const GROUPS = 500;

/** Targets from the product's performance goals, in milliseconds of wall time. */
const TARGET_MS = { noChange: 100, install: 1_000, authorizedKeys: 50 } as const;

export interface AgentBenchOptions {
  /** People in the bundle; the goals are set for 50,000. */
  people?: number;
  /** No-change polls measured; requests per day are scaled from these. */
  polls?: number;
}

/** Runs `node ARGS` to completion and returns its wall time; throws on a non-zero exit. */
async function timeNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: agentEnvironment(env),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((done) => child.once('close', done));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`benchmark step failed (exit ${code}): node ${args.join(' ')}\n${stderr}`);
  return ms;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Measures `args` and the bare `node -e ''` baseline alternately, so both see the same machine load. */
async function timeAgainstBaseline(args: readonly string[], repeats: number, env: NodeJS.ProcessEnv = {}) {
  const runs: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < repeats; i++) {
    runs.push(await timeNode(args, env));
    baseline.push(await timeNode(['-e', '']));
  }
  return { ms: median(runs), baselineMs: median(baseline) };
}

/** Runs every agent benchmark and prints one table. */
export async function runAgentBench(options: AgentBenchOptions = {}): Promise<void> {
  const people = options.people ?? 50_000;
  const polls = options.polls ?? 20;
  const folder = await mkdtemp(join(tmpdir(), 'fleet-login-agent-bench-'));
  const fauxqs = await startLoopbackFauxqs();
  const proxy = await startRecordingProxy(fauxqs.endpoint);
  try {
    // 1. One class admitting everyone, published by the real publisher to the loopback bucket.
    const agent = await buildAgent(join(folder, 'fleet-login-agent.mjs'));
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: BUNDLE_BUCKET }));
    const signer = createTestSigner();
    const keyringFile = join(folder, 'keyring.pem');
    await writeFile(keyringFile, signer.publicKeyPem);
    await publishBundles({
      snapshot: generateSnapshot(people, GROUPS),
      policy: parsePolicy("hostClasses:\n  general:\n    allowGroups: ['*']\n", 'bench policy'),
      store: new S3ObjectStore({ bucket: BUNDLE_BUCKET, client: fauxqs.s3 }),
      signingKey: signer.signingKey,
    });

    // 2. Full installs, each into a fresh root, then no-change polls against the last one.
    const config = async (root: string) => {
      await mkdir(join(root, 'etc'), { recursive: true });
      const path = join(root, '..', `${root.split('/').at(-1)}.json`);
      const body = s3AgentConfig({ hostClass: 'general', endpoint: proxy.endpoint, keyringFile, root });
      await writeFile(path, JSON.stringify(body));
      return path;
    };
    const installs: number[] = [];
    let configPath = '';
    let root = '';
    for (let i = 0; i < INSTALL_REPEATS; i++) {
      root = join(folder, `root-${i}`);
      configPath = await config(root);
      installs.push(await timeNode([agent, 'sync', '--config', configPath]));
    }
    // systemd sets STATE_DIRECTORY for the service, where the agent keeps its V8 code cache. The
    // first run writes the cache, so it is left out, and the same polls run once without a cache.
    const syncArgs = [agent, 'sync', '--config', configPath];
    const withCache = { STATE_DIRECTORY: join(folder, 'state') };
    await mkdir(withCache.STATE_DIRECTORY);
    await timeNode(syncArgs, withCache);
    proxy.clear();
    const noChange = await timeAgainstBaseline(syncArgs, polls, withCache);
    const requests = [...proxy.requests];
    const noChangeUncached = await timeAgainstBaseline(syncArgs, polls);

    // 3. authorized-keys for the last person, whose line is at the end of sshkey.cache.
    const lastUser = `user${String(people - 1).padStart(6, '0')}`;
    const keys = await timeAgainstBaseline([agent, '--root', root, 'authorized-keys', lastUser], polls);
    // The form the shipped sshd snippet uses (%u %U): the uid check reads passwd.cache as well.
    const lastUid = String(100_000 + people - 1);
    const keysWithUid = await timeAgainstBaseline(
      [agent, '--root', root, 'authorized-keys', lastUser, lastUid],
      polls,
    );

    // 4. Requests per host per day, scaled from the polls just measured.
    const gets = requests.filter((request) => request.method === 'GET').length;
    const writes = requests.filter((request) => request.method !== 'GET' && request.method !== 'HEAD').length;
    const bodyBytes = requests.reduce((sum, request) => sum + request.bodyBytes, 0);
    const perDay = (count: number) => Math.round((count / polls) * POLLS_PER_DAY);

    const verdict = (ms: number, target: number) => (ms <= target ? 'meets' : 'misses');
    console.log(`\nHost agent against loopback S3 (fauxqs), ${people} people; medians of ${polls} runs`);
    console.log('(install: median of 3; each run is a new node process, so times include start-up)');
    printTable(
      ['step', 'ms', 'target', 'verdict', 'node -e "" in the same run'],
      [
        [
          'full install from S3, 50k-person bundle',
          fmt(median(installs)),
          `≤ ${TARGET_MS.install}`,
          verdict(median(installs), TARGET_MS.install),
          '',
        ],
        [
          'no-change sync (one conditional GET)',
          fmt(noChange.ms),
          `≤ ${TARGET_MS.noChange}`,
          verdict(noChange.ms, TARGET_MS.noChange),
          fmt(noChange.baselineMs),
        ],
        [
          'no-change sync without STATE_DIRECTORY (no code cache)',
          fmt(noChangeUncached.ms),
          `≤ ${TARGET_MS.noChange}`,
          verdict(noChangeUncached.ms, TARGET_MS.noChange),
          fmt(noChangeUncached.baselineMs),
        ],
        [
          'authorized-keys, last of the cache',
          fmt(keys.ms),
          `≤ ${TARGET_MS.authorizedKeys}`,
          verdict(keys.ms, TARGET_MS.authorizedKeys),
          fmt(keys.baselineMs),
        ],
        [
          'authorized-keys USER UID, last of the cache',
          fmt(keysWithUid.ms),
          `≤ ${TARGET_MS.authorizedKeys}`,
          verdict(keysWithUid.ms, TARGET_MS.authorizedKeys),
          fmt(keysWithUid.baselineMs),
        ],
      ],
    );
    console.log(
      `\nS3 requests in ${polls} no-change polls: ${gets} GET, ${writes} writes, ${bodyBytes} body bytes; ` +
        `at one poll a minute: ${perDay(gets)} GETs and ${perDay(writes)} writes per host per day.`,
    );
  } finally {
    await proxy.stop();
    await fauxqs.stop();
    await rm(folder, { recursive: true, force: true });
  }
}

const fmt = (ms: number) => ms.toFixed(0);

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { people: { type: 'string', default: '50000' }, polls: { type: 'string', default: '20' } },
  });
  await runAgentBench({ people: Number(values.people), polls: Number(values.polls) });
}
