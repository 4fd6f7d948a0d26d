// Faults on the way from S3 to the installed files, on the built agent as a real process: a cut
// or short download, and SIGKILL at every install step. Each must leave a complete set installed.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KILL_AT_STEP_VARIABLE } from '../../host/commands.ts';
import { EXIT } from '../../host/exit-codes.ts';
import { INSTALL_STEPS } from '../../host/install.ts';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import type { DirectorySnapshot } from '../../shared/directory/model.ts';
import { type Policy, parsePolicy } from '../../shared/policy/policy.ts';
import {
  agentEnvironment,
  buildAgentInto,
  createS3AgentHost,
  makeSnapshot,
  POLICY,
  POLICY_YAML,
  readVisibleFiles,
  type S3AgentHost,
  type S3Bundles,
  showsExactly,
  stampTree,
  startS3Bundles,
} from './s3-fixture.ts';

/** Grants sre one more command than POLICY, so the sudoers drop-in changes. */
const WIDER_POLICY = parsePolicy(
  POLICY_YAML.replace('/usr/bin/journalctl]', '/usr/bin/journalctl, /usr/bin/dmesg]'),
  'wider test policy',
);
/** Grants no sudo rights at all, so its prod-admin bundle has no sudoers drop-in. */
const NO_SUDO_POLICY = parsePolicy(
  POLICY_YAML.replace(/ {4}sudo:\n(?: {6}.*\n| {8}.*\n)+/, ''),
  'no-sudo policy',
);

/** How the second bundle differs from the first: its files change, gain the drop-in, or lose it. */
const TRANSITIONS = {
  'changes every file': [POLICY, WIDER_POLICY],
  'adds the sudoers drop-in': [NO_SUDO_POLICY, POLICY],
  'removes the sudoers drop-in': [POLICY, NO_SUDO_POLICY],
} as const satisfies Record<string, readonly [Policy, Policy]>;
type Transition = keyof typeof TRANSITIONS;

let build: Awaited<ReturnType<typeof buildAgentInto>>;
let bundles: S3Bundles;
const hosts: S3AgentHost[] = [];

beforeAll(async () => {
  build = await buildAgentInto();
});

afterAll(async () => {
  await build.cleanup();
});

beforeEach(async () => {
  bundles = await startS3Bundles();
});

afterEach(async () => {
  await Promise.all(hosts.splice(0).map((host) => host.cleanup()));
  await bundles.stop();
});

/** Returns a snapshot in which bruno joined sre and chen joined auditors: most files change. */
function changedSnapshot(): DirectorySnapshot {
  const snapshot = makeSnapshot();
  for (const group of snapshot.groups) {
    if (group.name === 'sre') group.members.push('bruno');
    if (group.name === 'auditors') group.members.push('chen');
  }
  return snapshot;
}

function adminFiles(snapshot: DirectorySnapshot, policy: Policy) {
  const hostClass = policy.hostClasses.find((candidate) => candidate.name === 'prod-admin');
  if (!hostClass) throw new Error('the test policy has no host class prod-admin');
  return buildClassFiles(snapshot, hostClass).files;
}

/** Creates a prod-admin host with the first bundle installed, then publishes the second. */
async function hostWithPendingBundle(transition: Transition = 'changes every file') {
  const [firstPolicy, secondPolicy] = TRANSITIONS[transition];
  const first = makeSnapshot();
  await bundles.publish(first, firstPolicy);
  const host = await createS3AgentHost(build.agentPath, bundles, 'prod-admin');
  hosts.push(host);
  const installed = await host.sync();
  expect(installed.code, installed.stderr).toBe(EXIT.ok);
  const second = changedSnapshot();
  await bundles.publish(second, secondPolicy);
  return { host, oldFiles: adminFiles(first, firstPolicy), newFiles: adminFiles(second, secondPolicy) };
}

describe('fleet-login-agent download faults', () => {
  it('keeps installed files when a download is cut', async () => {
    const { host, oldFiles } = await hostWithPendingBundle();
    const before = await stampTree(host.root);
    bundles.proxy.setFault((path) => (path.includes('/files/') ? { kind: 'cut', keepBytes: 20 } : undefined));

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.fetchFailed);
    expect(result.logs.find((line) => line.message === 'sync failed')?.check).toBe('fetch');
    expect(showsExactly(await readVisibleFiles(host.root), oldFiles)).toBe(true);
    expect(withoutAgentState(await stampTree(host.root))).toEqual(withoutAgentState(before));
  });

  it('rejects a short download by its size', async () => {
    const { host, oldFiles } = await hostWithPendingBundle();
    const before = await stampTree(host.root);
    bundles.proxy.setFault((path) =>
      path.includes('/files/') ? { kind: 'shorten', keepBytes: 20 } : undefined,
    );

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.rejected);
    const failure = result.logs.find((line) => line.message === 'sync failed');
    expect(failure?.check).toBe('file-hash');
    expect(failure?.error).toMatch(/is 20 bytes, but the manifest says \d+/);
    expect(showsExactly(await readVisibleFiles(host.root), oldFiles)).toBe(true);
    expect(withoutAgentState(await stampTree(host.root))).toEqual(withoutAgentState(before));
  });
});

describe('fleet-login-agent killed during install', () => {
  const cases = INSTALL_STEPS.flatMap((step) =>
    (Object.keys(TRANSITIONS) as Transition[]).map((transition) => [step, transition] as const),
  );

  it.each(cases)('leaves a complete set after SIGKILL at %s (bundle %s)', async (step, transition) => {
    const { host, oldFiles, newFiles } = await hostWithPendingBundle(transition);
    expect(oldFiles.has('sudoers')).toBe(transition !== 'adds the sudoers drop-in');
    expect(newFiles.has('sudoers')).toBe(transition !== 'removes the sudoers drop-in');

    const killed = await host.sync(agentEnvironment({ [KILL_AT_STEP_VARIABLE]: step }));

    expect(killed.signal).toBe('SIGKILL');
    const steps = killed.logs.filter((line) => line.message === 'install step').map((line) => line.step);
    expect(steps.at(-1)).toBe(step);
    const visible = await readVisibleFiles(host.root);
    expect(showsExactly(visible, oldFiles) || showsExactly(visible, newFiles)).toBe(true);

    const resumed = await host.sync();

    expect(resumed.code, resumed.stderr).toBe(EXIT.ok);
    expect(showsExactly(await readVisibleFiles(host.root), newFiles)).toBe(true);
  });
});

/** Drops state.json and its folder, which a failed sync updates to record the error. */
function withoutAgentState(stamps: Record<string, string>): Record<string, string> {
  const { 'var/lib/fleet-login/state.json': _state, 'var/lib/fleet-login': _folder, ...rest } = stamps;
  return rest;
}
