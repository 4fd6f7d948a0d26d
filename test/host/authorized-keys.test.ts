// `authorized-keys USER` prints exactly that user's keys from sshkey.cache and nothing for anyone else.

import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findAuthorizedKeys } from '../../host/authorized-keys.ts';
import { main } from '../../host/cli.ts';
import { EXIT } from '../../host/exit-codes.ts';

const FIXTURE = new URL('../fixtures/host/c01-sshkey.cache', import.meta.url);

let cache: Buffer;
let root: string;
let keysOf: Map<string, string[]>;

beforeAll(async () => {
  cache = await readFile(FIXTURE);
  // The expected keys, derived from the fixture by splitting each line at its first colon.
  keysOf = new Map();
  for (const line of cache.toString().split('\n').filter(Boolean)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    keysOf.set(name, [...(keysOf.get(name) ?? []), line.slice(colon + 1)]);
  }
  root = await mkdtemp(join(tmpdir(), 'fleet-login-keys-test-'));
  await mkdir(join(root, 'etc'));
  await copyFile(FIXTURE, join(root, 'etc/sshkey.cache'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function runAgent(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

describe('findAuthorizedKeys', () => {
  it.each(['ana', 'ana.lopez', 'anaxlopez', 'juliana'])('returns only the keys of %s', (user) => {
    expect(findAuthorizedKeys(cache, user)).toEqual(keysOf.get(user));
  });

  it('returns both keys of a user with two key lines', () => {
    expect(findAuthorizedKeys(cache, 'ana.lopez')).toHaveLength(2);
  });

  it.each(['lopez', 'an', '.*', '', 'ana:', 'ana\nana', 'ANA'])('returns nothing for %j', (user) => {
    expect(findAuthorizedKeys(cache, user)).toEqual([]);
  });

  it('matches the first line and a last line without a newline', () => {
    const text = Buffer.from('ana:ssh-ed25519 AAAAfirst\nbob:ssh-ed25519 AAAAlast');
    expect(findAuthorizedKeys(text, 'ana')).toEqual(['ssh-ed25519 AAAAfirst']);
    expect(findAuthorizedKeys(text, 'bob')).toEqual(['ssh-ed25519 AAAAlast']);
  });
});

describe('fleet-login-agent authorized-keys', () => {
  it("prints ana's key alone, one key per line", async () => {
    const result = await runAgent(['--root', root, 'authorized-keys', 'ana']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(`${keysOf.get('ana')?.[0]}\n`);
  });

  it('prints the keys of ana.lopez and of no similar name', async () => {
    const result = await runAgent(['--root', root, 'authorized-keys', 'ana.lopez']);

    expect(result.stdout.split('\n').filter(Boolean)).toEqual(keysOf.get('ana.lopez'));
  });

  it.each(['lopez', 'an', '.*', ''])('prints nothing and exits 0 for %j', async (user) => {
    const result = await runAgent(['--root', root, 'authorized-keys', user]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('treats a user name that looks like an option as a name', async () => {
    const result = await runAgent(['authorized-keys', `--root=${root}`]);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('prints nothing and exits 0 before the first sync', async () => {
    const result = await runAgent(['--root', join(root, 'no-such-root'), 'authorized-keys', 'ana']);

    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe('');
  });

  it('exits 2 without a user name', async () => {
    const result = await runAgent(['--root', root, 'authorized-keys']);

    expect(result.code).toBe(EXIT.usage);
  });
});
