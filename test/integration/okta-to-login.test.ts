// End to end with real parts: an Okta delivery through the hook becomes a login over real sshd,
// resolved by the real libnss-cache, and a deactivation takes it away again.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oktaDelivery, postDelivery } from '../../local/deliveries.ts';
import { startLocalStack } from '../../local/stack.ts';
import { silentLog } from '../../shared/log.ts';
import type { OktaUser } from '../../shared/sources/okta-api.ts';
import { withHostNamespace } from '../harness/host-namespace.ts';
import { createSshKey, installAgentForSshd, sshCommand, startSshd } from '../harness/sshd.ts';
import { tempDir } from '../helpers/temp.ts';

const AGENT = join(process.cwd(), 'dist/fleet-login-agent.mjs');
const USER_ID = '00uE2EJANE';
const LOGIN = 'Jane.Doe@example.test';

describe('Okta delivery to ssh login', () => {
  it('creates a login with two keys, resolves it through libnss-cache and revokes it on deactivate', async () => {
    const stack = await startLocalStack({ dataDir: await tempDir(), log: silentLog });
    try {
      await withHostNamespace(async (host) => {
        const laptop = await createSshKey(join(host.scratch, 'keys'), 'jane-laptop');
        const yubikey = await createSshKey(join(host.scratch, 'keys'), 'jane-yubikey');
        const jane = (status: string): OktaUser => ({
          id: USER_ID,
          status,
          profile: {
            login: LOGIN,
            email: LOGIN,
            firstName: 'Jane',
            lastName: 'Doe',
            sshPublicKeys: [laptop.publicKey, yubikey.publicKey],
          },
        });
        const deliver = async (eventType: string, group?: string) => {
          const event = { eventType, userId: USER_ID, login: LOGIN, ...(group ? { group } : {}) };
          const response = await postDelivery(stack.hookUrl, stack.hookSecret, oktaDelivery([event]));
          expect(response.status).toBe(200);
          await stack.syncNow();
        };
        const configPath = join(host.scratch, 'agent.json');
        await writeFile(
          configPath,
          JSON.stringify({
            hostClass: 'general',
            source: { type: 'folder', path: stack.bundleDir },
            keyringFile: stack.keyringFile,
            root: '/',
          }),
        );
        const agentSync = () => host.run('/usr/bin/node', [AGENT, '--config', configPath, 'sync']);

        // 1. Okta creates Jane, active, in the group "SSH Ops"; the hook stores it, sync and publish run.
        stack.okta.setUser(jane('ACTIVE'), ['SSH Ops']);
        await deliver('user.lifecycle.create');
        expect((await agentSync()).code).toBe(0);

        // 2. The real libnss-cache resolves her by name, by uid and through her group.
        const byName = await host.run('getent', ['passwd', 'jane.doe']);
        const fields = byName.stdout.trim().split(':');
        expect(fields).toHaveLength(7);
        expect(fields[0]).toBe('jane.doe');
        const uid = fields[2] ?? '';
        expect(Number(uid)).toBeGreaterThanOrEqual(100000);
        expect((await host.run('getent', ['passwd', uid])).stdout.split(':')[0]).toBe('jane.doe');
        expect((await host.run('getent', ['group', 'ssh-ops'])).stdout.trim()).toMatch(
          /^ssh-ops:\*:\d+:jane\.doe$/,
        );

        // 3. A real sshd requests her keys from the agent; either key logs in and `id` shows the allocated uid.
        await mkdir(join(host.scratch, 'agent'), { recursive: true, mode: 0o755 });
        const sshd = await startSshd(host, { authorizedKeysCommand: await installAgentForSshd(host, AGENT) });
        try {
          for (const key of [laptop, yubikey]) {
            const login = await sshCommand(host, { user: 'jane.doe', port: sshd.port, key, command: 'id' });
            expect(login.stdout, login.stderr).toContain(`uid=${uid}(jane.doe)`);
            expect(login.code).toBe(0);
          }

          // 4. Okta deactivates her: after publish and sync the same login is refused.
          stack.okta.setUser(jane('DEPROVISIONED'), ['SSH Ops']);
          await deliver('user.lifecycle.deactivate');
          expect((await agentSync()).code).toBe(0);
          const refused = await sshCommand(host, {
            user: 'jane.doe',
            port: sshd.port,
            key: laptop,
            command: 'id',
          });
          expect(refused.code).not.toBe(0);
          expect(refused.stdout).toBe('');
          expect((await host.run('getent', ['passwd', 'jane.doe'])).code).toBe(2);
        } finally {
          await sshd.stop();
        }
      });
    } finally {
      await stack.close();
    }
  });
});
