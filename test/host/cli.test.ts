// The agent's command line: help, usage errors, config validation and the status command.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import { type AgentRoot, createAgentRoot } from './agent-root.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const HOUR_MS = 60 * 60 * 1000;

let host: AgentRoot;

beforeEach(async () => {
  host = await createAgentRoot();
});

afterEach(async () => {
  await host.cleanup();
});

async function writeConfig(config: unknown): Promise<string> {
  const path = join(host.folder, 'custom.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

describe('fleet-login-agent command line', () => {
  it('documents every exit code in --help', async () => {
    const result = await host.run(['--help']);

    expect(result.code).toBe(EXIT.ok);
    for (const code of Object.values(EXIT)) expect(result.stdout).toMatch(new RegExp(`^  ${code}  `, 'm'));
  });

  it.each([[[]], [['frobnicate']], [['sync', 'extra']], [['--no-such-option', 'sync']]])(
    'exits 2 for the arguments %j',
    async (args) => {
      const result = await host.run(args);

      expect(result.code).toBe(EXIT.usage);
      expect(result.stderr).toContain('Usage: fleet-login-agent');
    },
  );

  it('exits 2 naming the config file when it is missing', async () => {
    const missing = join(host.folder, 'missing.json');

    const result = await host.run(['sync', '--config', missing]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain(missing);
  });

  it.each([
    ['hostClass', { source: { type: 'folder', path: '/srv/bundles' } }],
    ['source.path', { hostClass: 'general', source: { type: 'folder', path: 'relative/path' } }],
    ['source.type', { hostClass: 'general', source: { type: 'ftp' } }],
    [
      'maxStalenessSeconds',
      { hostClass: 'general', source: { type: 'folder', path: '/x' }, maxStalenessSeconds: -1 },
    ],
    ['(root)', { hostClass: 'general', source: { type: 'folder', path: '/x' }, hostclass: 'typo' }],
    ['source.region', { hostClass: 'general', source: { type: 's3', bucket: 'bundles' } }],
    [
      'source.endpoint',
      { hostClass: 'general', source: { type: 's3', bucket: 'b', region: 'eu-west-1', endpoint: 'ftp://x' } },
    ],
  ])('exits 2 naming the invalid field %s', async (field, config) => {
    const result = await host.run(['sync', '--config', await writeConfig(config)]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.logs[0]?.error).toContain(`invalid at ${field}:`);
  });

  it('exits 2 for an empty keyring', async () => {
    const keyringFile = join(host.folder, 'empty.pem');
    await writeFile(keyringFile, '');
    const config = {
      hostClass: 'general',
      source: { type: 'folder', path: host.storeFolder },
      keyringFile,
      root: host.root,
    };

    const result = await host.run(['sync', '--config', await writeConfig(config)]);

    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('contains no PEM public key');
  });

  it('lets --root override the root from the config', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([makePerson('ana', 50001)], []) });
    const otherRoot = join(host.folder, 'other-root');

    const result = await host.run(['sync', '--config', host.configPath, '--root', otherRoot]);

    expect(result.code, result.stderr).toBe(EXIT.ok);
    const status = await host.run(['status', '--json', '--config', host.configPath, '--root', otherRoot]);
    expect(JSON.parse(status.stdout).installed.serial).toBe(1);
    expect(await host.readInstalled('passwd.cache')).toBeUndefined();
  });
});

describe('fleet-login-agent status', () => {
  it('exits 6 and says none installed before the first sync', async () => {
    const result = await host.run(['status', '--config', host.configPath]);

    expect(result.code).toBe(EXIT.stale);
    expect(result.stdout).toContain('serial:       none installed');
    expect(result.stdout).toContain('last success: never');
  });

  it('reports class, serial, issue time, age and expiry of a fresh bundle', async () => {
    const issuedAt = new Date(Date.now() - 2 * HOUR_MS);
    const { manifest } = await host.publish({
      serial: 3,
      files: renderNssFiles([makePerson('ana', 50001)], []),
      issuedAt,
    });
    await host.sync();

    const text = await host.run(['status', '--config', host.configPath]);
    const json = await host.run(['status', '--json', '--config', host.configPath]);

    expect(text.code).toBe(EXIT.ok);
    expect(text.stdout).toContain('host class:   general');
    expect(text.stdout).toContain(`issued at:    ${manifest.issuedAt} (age 2h`);
    const report = JSON.parse(json.stdout);
    expect(report.installed).toMatchObject({
      hostClass: 'general',
      serial: 3,
      expiresAt: manifest.expiresAt,
      expired: false,
    });
    expect(report.installed.ageSeconds).toBeGreaterThanOrEqual(2 * 3600);
    expect(report.stale).toBe(false);
    expect(report.lastError).toBeUndefined();
  });

  it('exits 6 when the installed bundle is older than maxStalenessSeconds', async () => {
    await host.publish({ serial: 1, files: renderNssFiles([makePerson('ana', 50001)], []) });
    await host.sync();
    const later = new Date(Date.now() + 25 * HOUR_MS);

    const result = await host.run(['status', '--json', '--config', host.configPath], { now: () => later });

    expect(result.code).toBe(EXIT.stale);
    expect(JSON.parse(result.stdout).stale).toBe(true);
  });
});
