// Seeds the local stack: agent configs for each host class, and sample people on first start.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { oktaDelivery, postDelivery } from './deliveries.ts';
import { samplePeople } from './samples.ts';
import type { LocalStack } from './stack.ts';

/** Writes `<dataDir>/agent/<class>.json` for every host class, each installing into `<dataDir>/hosts/<class>`. */
export async function writeAgentConfigs(stack: LocalStack): Promise<Map<string, string>> {
  const configs = new Map<string, string>();
  await mkdir(join(stack.dataDir, 'agent'), { recursive: true });
  for (const hostClass of (await stack.runtime.policy()).hostClasses) {
    const path = join(stack.dataDir, 'agent', `${hostClass.name}.json`);
    const config = {
      hostClass: hostClass.name,
      source: { type: 'folder', path: stack.bundleDir },
      keyringFile: stack.keyringFile,
      root: join(stack.dataDir, 'hosts', hostClass.name),
    };
    await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
    configs.set(hostClass.name, path);
  }
  return configs;
}

/** On an empty directory, adds the sample people to the Okta double and sends their create events through the hook. */
export async function seedSamplePeople(stack: LocalStack): Promise<string[]> {
  const store = await stack.runtime.openDirectory();
  const empty = (await store.snapshot()).people.length === 0;
  await store.close();
  if (!empty) return [];

  const people = samplePeople();
  for (const { user, groups } of people) stack.okta.setUser(user, groups);
  const events = people.map(({ user }) => ({
    eventType: 'user.lifecycle.activate',
    userId: user.id,
    login: user.profile.login,
  }));
  const response = await postDelivery(stack.hookUrl, stack.hookSecret, oktaDelivery(events));
  if (response.status !== 200)
    throw new Error(`the local hook answered ${response.status} to the seed delivery`);
  await stack.syncNow();
  return people.map(({ user }) => user.profile.login);
}
