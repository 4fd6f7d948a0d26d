// `npm run demo`: plays a person's lifecycle through the real hook, sync, publish and agent.

import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { main as agent } from '../host/cli.ts';
import { silentLog } from '../shared/log.ts';
import type { OktaUser } from '../shared/sources/okta-api.ts';
import { oktaDelivery, postDelivery } from './deliveries.ts';
import { writeAgentConfigs } from './seed.ts';
import { generateSshKey } from './ssh-keys.ts';
import { type LocalStack, startLocalStack } from './stack.ts';

const DEMO_DIR = '.local/demo';
const JANE_ID = '00uDEMOJANE';
const JANE_LOGIN = 'jane.doe@example.test';

async function main(): Promise<void> {
  await rm(DEMO_DIR, { recursive: true, force: true });
  const stack = await startLocalStack({ dataDir: DEMO_DIR, log: silentLog });
  try {
    const configs = await writeAgentConfigs(stack);
    const keys = [generateSshKey('jane@laptop').publicKey, generateSshKey('jane@yubikey').publicKey];
    const jane = (status: string): OktaUser => ({
      id: JANE_ID,
      status,
      profile: {
        login: JANE_LOGIN,
        email: JANE_LOGIN,
        firstName: 'Jane',
        lastName: 'Doe',
        sshPublicKeys: keys,
      },
    });

    stack.okta.setUser(jane('ACTIVE'));
    await step(stack, configs, '1. Okta creates and activates Jane with two SSH keys', [
      'user.lifecycle.create',
      'user.lifecycle.activate',
    ]);

    stack.okta.setUser(jane('ACTIVE'), ['SSH Ops']);
    await step(
      stack,
      configs,
      '2. Okta adds Jane to the group "SSH Ops"',
      ['group.user_membership.add'],
      'SSH Ops',
    );

    stack.okta.setUser(jane('DEPROVISIONED'));
    await step(stack, configs, '3. Okta deactivates Jane', ['user.lifecycle.deactivate']);
    console.log('\nDemo complete: Jane got a login on every class, then lost it everywhere.');
  } finally {
    await stack.close();
  }
}

/** Sends one delivery, applies and publishes it, syncs every host class, and shows the result. */
async function step(
  stack: LocalStack,
  configs: Map<string, string>,
  title: string,
  eventTypes: string[],
  group?: string,
) {
  console.log(`\n${title}`);
  const events = eventTypes.map((eventType) => ({
    eventType,
    userId: JANE_ID,
    login: JANE_LOGIN,
    ...(group ? { group } : {}),
  }));
  const response = await postDelivery(stack.hookUrl, stack.hookSecret, oktaDelivery(events));
  console.log(`   hook answered ${response.status}`);
  await stack.syncNow();

  for (const [hostClass, config] of configs) {
    const quiet = { stdout: () => {}, stderr: () => {} };
    const code = await agent(['--config', config, 'sync'], quiet);
    const root = join(stack.dataDir, 'hosts', hostClass);
    const passwd = await readText(join(root, 'etc/passwd.cache'));
    const line = passwd.split('\n').find((entry) => entry.startsWith('jane.doe:'));
    let keys = '';
    await agent(['--root', root, 'authorized-keys', 'jane.doe'], {
      stdout: (text) => {
        keys += text;
      },
      stderr: () => {},
    });
    const groups = (await readText(join(root, 'etc/group.cache')))
      .split('\n')
      .filter((entry) => /[:,]jane\.doe(,|$)/.test(entry));
    console.log(`   ${hostClass}: agent sync exit ${code}`);
    console.log(`     passwd: ${line ?? '(no entry)'}`);
    console.log(`     groups: ${groups.length > 0 ? groups.join(' ') : '(none)'}`);
    console.log(`     authorized-keys jane.doe: ${keys.split('\n').filter(Boolean).length} key(s)`);
  }
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => '');
}

main().catch((error: unknown) => {
  console.error('demo failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
