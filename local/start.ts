// `npm start`: the local control plane on embedded defaults, no AWS account needed.

import { createLogger } from '../shared/log.ts';
import { seedSamplePeople, writeAgentConfigs } from './seed.ts';
import { startLocalStack } from './stack.ts';

const DEFAULT_PORT = 8787;

async function main(): Promise<void> {
  const port = process.env.PORT ? Number(process.env.PORT) : DEFAULT_PORT;
  const stack = await startLocalStack({ port, log: createLogger('local') });
  const seeded = await seedSamplePeople(stack);
  const published = await stack.publishNow();
  const configs = await writeAgentConfigs(stack);

  const agentLines = [...configs].map(
    ([hostClass, path]) =>
      `  node dist/fleet-login-agent.mjs --config ${path} sync    # host class ${hostClass}`,
  );
  console.log(
    [
      '',
      `fleet-login local control plane is listening on ${stack.hookUrl}`,
      seeded.length > 0
        ? `Seeded sample people: ${seeded.join(', ')}`
        : 'Directory already has people; no seeding.',
      `Published: ${published.map((result) => `${result.hostClass} serial ${result.serial} (${result.people} people)`).join(', ')}`,
      '',
      'Deactivate Ben in the Okta double, then tell the hook, as Okta would:',
      `  curl -s -X POST -H 'authorization: SSWS ${stack.okta.apiToken}' ${stack.okta.url}/api/v1/users/00uSAMPLEBEN/lifecycle/deactivate`,
      `  curl -s -X POST ${stack.hookUrl} -H 'content-type: application/json' \\`,
      `       -H 'authorization: ${stack.hookSecret}' -d @test/fixtures/okta/deactivate-ben.json`,
      '',
      'Install a host class\'s bundle into a local folder (run "npm run build:agent" once first):',
      ...agentLines,
      '  node dist/fleet-login-agent.mjs --root .local/hosts/general authorized-keys ana.lopez',
      '',
      'Play the sample lifecycle with "npm run demo" in another terminal. Stop with Ctrl-C.',
    ].join('\n'),
  );

  const stop = async () => {
    await stack.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(
    'fleet-login local control plane failed to start:',
    error instanceof Error ? error.message : error,
  );
  process.exit(1);
});
