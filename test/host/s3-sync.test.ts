// The built agent against an S3-protocol server on loopback: per-class contents as the policy
// builds them, the no-change poll, partial downloads, and status after a failed poll.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { ABSENT_FILE_CONTENTS } from '../../host/install.ts';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import type { HostClassPolicy } from '../../shared/policy/policy.ts';
import { closedLoopbackPort } from '../harness/fauxqs.ts';
import {
  ADMIN_COMMANDS,
  BUNDLE_BUCKET,
  buildAgentInto,
  createS3AgentHost,
  makeSnapshot,
  NO_SHELL,
  POLICY,
  readVisibleFiles,
  type S3AgentHost,
  type S3Bundles,
  showsExactly,
  stampTree,
  startS3Bundles,
} from './s3-fixture.ts';

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

async function newHost(hostClass: string): Promise<S3AgentHost> {
  const host = await createS3AgentHost(build.agentPath, bundles, hostClass);
  hosts.push(host);
  return host;
}

function classPolicy(name: string): HostClassPolicy {
  const found = POLICY.hostClasses.find((hostClass) => hostClass.name === name);
  if (!found) throw new Error(`the test policy has no host class ${name}`);
  return found;
}

/** Returns the passwd lines of the host as `name:shell` pairs. */
async function loginShells(root: string): Promise<string[]> {
  const passwd = await readFile(join(root, 'etc/passwd.cache'), 'utf8');
  return passwd
    .trim()
    .split('\n')
    .map((line) => {
      const fields = line.split(':');
      return `${fields[0]}:${fields[6]}`;
    });
}

function withoutAgentState(stamps: Record<string, string>): Record<string, string> {
  const { 'var/lib/fleet-login/state.json': _state, 'var/lib/fleet-login': _folder, ...rest } = stamps;
  return rest;
}

describe('fleet-login-agent sync from S3', () => {
  it('installs each host class as the policy builds it', async () => {
    const snapshot = makeSnapshot();
    const published = await bundles.publish(snapshot);
    expect(published.map((result) => result.outcome)).toEqual(['published', 'published', 'published']);

    const roots = new Map<string, string>();
    for (const name of ['general', 'bastion', 'prod-admin']) {
      const host = await newHost(name);
      const result = await host.sync();
      expect(result.code, result.stderr).toBe(EXIT.ok);
      const expected = buildClassFiles(snapshot, classPolicy(name)).files;
      expect(showsExactly(await readVisibleFiles(host.root), expected), name).toBe(true);
      roots.set(name, host.root);
    }

    const general = roots.get('general') as string;
    const bastion = roots.get('bastion') as string;
    const admin = roots.get('prod-admin') as string;
    expect(await loginShells(general)).toEqual([
      'ana:/bin/bash',
      'bruno:/bin/bash',
      'chen:/bin/bash',
      'dana:/bin/bash',
    ]);
    expect(await loginShells(bastion)).toEqual([`ana:${NO_SHELL}`, `chen:${NO_SHELL}`]);
    expect(await loginShells(admin)).toEqual(['ana:/bin/bash', 'bruno:/bin/bash']);
    const sudoers = await readFile(join(admin, 'etc/sudoers.d/fleet-login'), 'utf8');
    expect(sudoers).toContain(`%sre ALL=(root) NOPASSWD: ${ADMIN_COMMANDS.join(', ')}\n`);
    // Classes without sudo rules get the drop-in without rules, so sudo grants nothing there.
    expect((await readVisibleFiles(general)).get('sudoers')).toEqual(ABSENT_FILE_CONTENTS.sudoers);
    expect((await readVisibleFiles(bastion)).get('sudoers')).toEqual(ABSENT_FILE_CONTENTS.sudoers);
  });

  it('polls an unchanged manifest with one GET and no writes', async () => {
    await bundles.publish(makeSnapshot());
    const host = await newHost('general');
    expect((await host.sync()).code).toBe(EXIT.ok);
    const state = JSON.parse(await readFile(join(host.root, 'var/lib/fleet-login/state.json'), 'utf8'));
    const before = await stampTree(host.root);
    bundles.proxy.clear();

    const poll = await host.sync();

    expect(poll.code, poll.stderr).toBe(EXIT.ok);
    expect(bundles.proxy.requests).toEqual([
      {
        method: 'GET',
        path: `/${BUNDLE_BUCKET}/manifests/general.json`,
        ifNoneMatch: state.manifestEtag,
        status: 304,
        bodyBytes: 0,
      },
    ]);
    expect(await stampTree(host.root)).toEqual(before);
  });

  it('downloads only the files whose hash changed', async () => {
    await bundles.publish(makeSnapshot());
    const host = await newHost('general');
    expect((await host.sync()).code).toBe(EXIT.ok);
    bundles.proxy.clear();
    // A new key changes sshkey.cache and nothing else.
    const rekeyed = makeSnapshot({ dana: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDana dana@laptop'] });
    await bundles.publish(rekeyed);

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const paths = bundles.proxy.requests.map(
      (request) => `${request.method} ${request.path} ${request.status}`,
    );
    const expectedFile = buildClassFiles(rekeyed, classPolicy('general')).files.get('sshkey.cache');
    expect(paths).toEqual([
      `GET /${BUNDLE_BUCKET}/manifests/general.json 200`,
      expect.stringMatching(new RegExp(`^GET /${BUNDLE_BUCKET}/files/[0-9a-f]{64} 200$`)),
    ]);
    expect((await readVisibleFiles(host.root)).get('sshkey.cache')).toEqual(expectedFile);
    expect(bundles.proxy.requests.every((request) => request.method === 'GET')).toBe(true);
  });

  it('keeps the bundle when S3 is unreachable', async () => {
    await bundles.publish(makeSnapshot());
    const host = await newHost('general');
    expect((await host.sync()).code).toBe(EXIT.ok);
    await host.useEndpoint(`http://127.0.0.1:${await closedLoopbackPort()}`);
    const before = await stampTree(host.root);

    const failed = await host.sync();
    const status = await host.run(['status', '--json']);

    expect(failed.code).toBe(EXIT.fetchFailed);
    expect(failed.logs.find((line) => line.message === 'sync failed')?.check).toBe('fetch');
    const report = JSON.parse(status.stdout);
    expect(status.code, status.stderr).toBe(EXIT.ok);
    expect(report.installed.serial).toBe(1);
    expect(report.installed.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(report.stale).toBe(false);
    expect(report.lastError.check).toBe('fetch');
    expect(report.lastError.message).toContain(`s3://${BUNDLE_BUCKET}`);
    expect(Date.parse(report.lastSuccessAt)).toBeLessThanOrEqual(Date.parse(report.lastError.at));
    // Only the agent's state.json records the failure (its rename touches the folder); every installed file is untouched.
    expect(withoutAgentState(await stampTree(host.root))).toEqual(withoutAgentState(before));
  });
});
