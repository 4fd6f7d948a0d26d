// `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run.
// Options: --people N (default 10000), --groups N (default 500), --classes N (default 20),
// --ldap-sizes 1000,10000,50000, --deliveries N (default 1000), --only NAME[,NAME] (publish, agent,
// ldap, hook, sync, emergency).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runAgentBench } from './agent-bench.ts';
import { runEmergencyAlertBench } from './emergency-alert.ts';
import { runLdapBench } from './ldap-bench.ts';
import { runPublishAgentBench } from './publish-agent.ts';
import { runHookLatencyBench, runSyncThroughputBench } from './sources-bench.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '10000' },
    groups: { type: 'string', default: '500' },
    classes: { type: 'string', default: '20' },
    'ldap-sizes': { type: 'string', default: '1000,10000,50000' },
    deliveries: { type: 'string', default: '1000' },
    only: { type: 'string', default: 'publish,agent,ldap,hook,sync,emergency' },
  },
});
const only = new Set(values.only.split(','));
const folder = await mkdtemp(join(tmpdir(), 'fleet-login-bench-'));
try {
  if (only.has('publish'))
    await runPublishAgentBench(Number(values.people), Number(values.groups), Number(values.classes));
  if (only.has('agent')) await runAgentBench();
  if (only.has('ldap')) await runLdapBench(values['ldap-sizes'].split(',').map(Number));
  if (only.has('hook')) await runHookLatencyBench(Number(values.deliveries), join(folder, 'hook'));
  if (only.has('sync')) await runSyncThroughputBench(200, join(folder, 'sync'));
  if (only.has('emergency')) await runEmergencyAlertBench(100);
} finally {
  await rm(folder, { recursive: true, force: true });
}
