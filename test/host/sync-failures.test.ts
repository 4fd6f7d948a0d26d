// How a sync fails and recovers: every failure recorded for `status`, file-system errors mapped to
// exit 5 naming the path, staging leftovers removed, and an unreadable installed manifest replaced.

import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { asSyncFailure } from '../../host/failures.ts';
import { agentLayout } from '../../host/layout.ts';
import { manifestObjectKey } from '../../shared/bundle/manifest.ts';
import { BundleRejectedError } from '../../shared/errors.ts';
import { type AgentRoot, createAgentRoot, snapshotTree } from './agent-root.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const ana = makePerson('ana', 50001);
const bruno = makePerson('bruno', 50002);
const groups = [{ name: 'sre', gidNumber: 53001, members: ['ana', 'bruno'] }];

let host: AgentRoot;

beforeEach(async () => {
  host = await createAgentRoot();
});

afterEach(async () => {
  await host.cleanup();
});

async function status(): Promise<{ code: number; text: string; json: Record<string, unknown> }> {
  const text = await host.run(['status', '--config', host.configPath]);
  const json = await host.run(['status', '--json', '--config', host.configPath]);
  return { code: json.code, text: text.stdout, json: JSON.parse(json.stdout) };
}

function failureOf(run: { logs: Record<string, unknown>[] }): Record<string, unknown> | undefined {
  return run.logs.find((line) => line.message === 'sync failed');
}

async function stagingFolders(): Promise<string[]> {
  const entries = await readdir(agentLayout(host.root).generations).catch(() => []);
  return entries.filter((name) => name.startsWith('.staging-'));
}

describe('fleet-login-agent sync failure records', () => {
  it('records a keyring that cannot be read', async () => {
    await rm(join(host.folder, 'keyring.pem'));

    const result = await host.sync();

    expect(result.code).toBe(EXIT.usage);
    const report = await status();
    expect(report.json.lastError).toMatchObject({ message: expect.stringContaining('keyring.pem') });
    expect(report.text).toContain('last error:');
    expect(report.text).not.toContain('last error:   none');
  });

  it('says on stderr when state.json cannot record the failure', async () => {
    const layout = agentLayout(host.root);
    // A folder where state.json belongs makes the rename that replaces it fail.
    await mkdir(layout.stateFile, { recursive: true });

    const result = await host.sync();

    expect(result.code).toBe(EXIT.fetchFailed);
    const warning = result.logs.find((line) => line.phase === 'state');
    expect(warning?.message).toContain('recording the failure in state.json failed');
    expect(warning?.path).toBe(layout.stateFile);
  });
});

describe('asSyncFailure', () => {
  it.each([
    ['EROFS', 'read-only file system', '/run/fleet-login/agent.lock'],
    ['ENOSPC', 'no space left on device', '/var/lib/fleet-login/generations/.staging-1/passwd.cache'],
    ['EACCES', 'permission denied', '/var/lib/fleet-login/state.json'],
  ])('makes %s an install failure naming the path', (code, text, path) => {
    const error = Object.assign(new Error(`${code}: failed`), { code, path, syscall: 'open' });

    const failure = asSyncFailure(error);

    expect(failure).toBeInstanceOf(BundleRejectedError);
    expect((failure as BundleRejectedError).check).toBe('install');
    expect((failure as Error).message).toBe(`${text} (${code}): ${path}`);
    expect((failure as Error).cause).toBe(error);
  });

  it('finds the file-system error under a wrapper', () => {
    const error = Object.assign(new Error('ENOSPC: write'), { code: 'ENOSPC', syscall: 'write' });

    const failure = asSyncFailure(new Error('staging failed', { cause: error }));

    expect((failure as Error).message).toBe('no space left on device (ENOSPC): an unnamed file (write)');
  });

  it('returns other errors unchanged', () => {
    const error = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });

    expect(asSyncFailure(error)).toBe(error);
  });
});

describe('fleet-login-agent staging folders', () => {
  it('removes a staging leftover at the start of any run', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });
    await host.sync();
    const leftover = join(agentLayout(host.root).generations, '.staging-4242-1700000000000');
    await mkdir(leftover);
    await writeFile(join(leftover, 'passwd.cache'), 'partial');
    await host.store.delete(manifestObjectKey('general'));

    const result = await host.sync();

    expect(result.code).toBe(EXIT.fetchFailed);
    expect(await stagingFolders()).toEqual([]);
  });

  it.each(['check-sudoers', 'publish-generation'] as const)(
    'removes its staging folder after failing at %s',
    async (step) => {
      await host.publish({ serial: 1, files: renderNssFiles([ana], groups) });

      const result = await host.sync({
        onInstallStep: (current) => {
          if (current === step) throw new Error(`stopped at ${current}`);
        },
      });

      expect(result.code).toBe(EXIT.installFailed);
      expect(await stagingFolders()).toEqual([]);
    },
  );
});

describe('fleet-login-agent with an unreadable installed manifest', () => {
  const corruptions: [string, string][] = [
    ['empty', ''],
    ['truncated', '{"payload":"{\\"hostClass'],
    ['missing its payload', '{"keyId":"x"}'],
  ];

  async function installThenCorrupt(contents: string): Promise<string> {
    await host.publish({ serial: 5, files: renderNssFiles([ana], groups) });
    expect((await host.sync()).code).toBe(EXIT.ok);
    const path = join(agentLayout(host.root).current, 'manifest.json');
    await writeFile(path, contents);
    return path;
  }

  it.each(corruptions)(
    'reports a manifest that is %s in status, naming the file',
    async (_case, contents) => {
      const path = await installThenCorrupt(contents);

      const report = await status();

      expect(report.code).toBe(EXIT.stale);
      expect(report.json.installedError).toContain(path);
      expect(report.json.stale).toBe(true);
      expect(report.text).toContain(`serial:       unknown: the installed manifest ${path} is invalid`);
    },
  );

  it.each(corruptions)('replaces a manifest that is %s with a fresh bundle', async (_case, contents) => {
    const path = await installThenCorrupt(contents);
    await host.publish({ serial: 6, files: renderNssFiles([ana, bruno], groups) });

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const warning = result.logs.find((line) => line.level === 'warn' && line.phase === 'start');
    expect(warning?.error).toContain(path);
    expect((await status()).json.installed).toMatchObject({ serial: 6 });
  });

  it('reinstalls the same bundle when the store still serves it', async () => {
    await installThenCorrupt('');

    const result = await host.sync();

    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(await readlink(agentLayout(host.root).current)).toMatch(
      /^generations\/5-[0-9a-f]{16}-r[0-9a-z]+$/,
    );
    expect((await status()).json.installed).toMatchObject({ serial: 5 });
  });

  it('still rejects a serial below the one state.json recorded', async () => {
    await installThenCorrupt('');
    await host.publish({ serial: 4, files: renderNssFiles([ana, bruno], groups) });
    const before = await snapshotTree(host.root);

    const result = await host.sync();

    expect(result.code).toBe(EXIT.rejected);
    expect(failureOf(result)?.error).toBe(
      'the manifest serial 4 is lower than the serial 5 recorded in state.json',
    );
    expect(await snapshotTree(host.root)).toEqual(before);
  });

  it('rejects the recorded serial with other contents', async () => {
    await installThenCorrupt('');
    await host.publish({ serial: 5, files: renderNssFiles([ana, bruno], groups) });

    const result = await host.sync();

    expect(result.code).toBe(EXIT.rejected);
    expect(failureOf(result)?.check).toBe('serial');
  });

  it('keeps the old files when the fresh bundle fails to install', async () => {
    await installThenCorrupt('');
    await host.publish({ serial: 6, files: renderNssFiles([ana, bruno], groups) });
    const passwd = await readFile(join(host.root, 'etc/passwd.cache'));

    const result = await host.sync({
      onInstallStep: (step) => {
        if (step === 'publish-generation') throw new Error('stopped before the generation went live');
      },
    });

    expect(result.code).toBe(EXIT.installFailed);
    expect(await readFile(join(host.root, 'etc/passwd.cache'))).toEqual(passwd);
  });
});
