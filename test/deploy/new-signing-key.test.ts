// scripts/new-signing-key.sh, the bootstrap and rotation step that makes a bundle signing key pair.

import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../shared/bundle/manifest.ts';
import { signingKeyFromPem } from '../../shared/runtime.ts';
import { tempDir } from '../helpers/temp.ts';

const run = promisify(execFile);
const SCRIPT = join(process.cwd(), 'scripts/new-signing-key.sh');

describe('new-signing-key.sh', () => {
  it('makes a pair the publisher and agent accept', async () => {
    const folder = join(await tempDir('fleet-login-signing-key-'), 'keys');

    const { stdout } = await run('bash', [SCRIPT, folder]);
    const privatePem = await readFile(join(folder, 'signing-key.pem'), 'utf8');
    const publicPem = await readFile(join(folder, 'signing-public.pem'), 'utf8');
    const signingKey = signingKeyFromPem(privatePem, 'signing-key.pem');

    expect(stdout.trim()).toBe(signingKey.keyId);
    expect([...parseKeyring(publicPem).keys()]).toEqual([signingKey.keyId]);
    expect((await stat(join(folder, 'signing-key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(folder, 'signing-public.pem'))).mode & 0o777).toBe(0o644);
  });

  it('keeps an existing key in place', async () => {
    const folder = await tempDir('fleet-login-signing-key-');
    await run('bash', [SCRIPT, folder]);
    const before = await readFile(join(folder, 'signing-key.pem'));

    const second = run('bash', [SCRIPT, folder]);

    await expect(second).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('exists') });
    expect(await readFile(join(folder, 'signing-key.pem'))).toEqual(before);
  });
});
