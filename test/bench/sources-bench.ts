// Benchmark of the sources: hook acknowledgement latency against the local stack, compared with a
// bare HTTP server in the same run, and sync throughput into a real slapd, compared with the embedded store.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { oktaDelivery, postDelivery } from '../../local/deliveries.ts';
import { startOktaDouble } from '../../local/okta-double.ts';
import { startLocalStack } from '../../local/stack.ts';
import { EmbeddedDirectoryStore } from '../../shared/directory/embedded-store.ts';
import { applyPendingEntries } from '../../shared/directory/inbox-sync.ts';
import type { DirectoryStore } from '../../shared/directory/model.ts';
import { silentLog } from '../../shared/log.ts';
import { OktaClient } from '../../shared/sources/okta-api.ts';
import { type InboxEntry, inboxKeyOf } from '../../shared/sources/okta-events.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { fixture, SUFFIX, storeFor } from '../fixtures/ldap/store.ts';
import { startSlapd } from '../harness/slapd.ts';
import { printTable } from './publish-agent.ts';

const percentile = (sorted: number[], share: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;

/** p50 and p99 of `deliveries` sequential POSTs to the hook; the stack applies each in the background. */
export async function runHookLatencyBench(deliveries: number, dataDir: string): Promise<void> {
  const stack = await startLocalStack({ dataDir, log: silentLog });
  const bare = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end());
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  stack.okta.setUser({
    id: '00uBENCH',
    status: 'ACTIVE',
    profile: { login: 'bench@example.test', sshPublicKeys: [] },
  });
  try {
    const measure = async (url: string) => {
      const times: number[] = [];
      for (let n = 0; n < deliveries; n++) {
        const delivery = oktaDelivery([
          { eventType: 'user.account.update_profile', userId: '00uBENCH', login: 'bench@example.test' },
        ]);
        const started = performance.now();
        const response = await postDelivery(url, stack.hookSecret, delivery);
        await response.arrayBuffer();
        times.push(performance.now() - started);
      }
      return times.sort((a, b) => a - b);
    };
    const baseline = await measure(bareUrl);
    const hook = await measure(stack.hookUrl);
    console.log(`\nHook acknowledgement, ${deliveries} sequential deliveries (target p99 ≤ 300 ms)`);
    printTable(
      ['server', 'p50 ms', 'p99 ms', 'p99 ratio'],
      [
        [
          'bare Node HTTP server (baseline)',
          percentile(baseline, 0.5).toFixed(2),
          percentile(baseline, 0.99).toFixed(2),
          '1.00',
        ],
        [
          'okta-hook: auth, validate, inbox write',
          percentile(hook, 0.5).toFixed(2),
          percentile(hook, 0.99).toFixed(2),
          `${(percentile(hook, 0.99) / percentile(baseline, 0.99)).toFixed(2)}×`,
        ],
      ],
    );
  } finally {
    await stack.close();
    await new Promise((resolve) => bare.close(resolve));
  }
}

/** Applies `count` inbox entries, each creating one person, and returns entries per second. */
async function syncThroughput(count: number, folder: string, store: DirectoryStore): Promise<number> {
  const okta = await startOktaDouble();
  try {
    const inbox = new LocalFolderStore(join(folder, 'inbox'));
    for (let n = 0; n < count; n++) {
      const id = `00uSYNC${n}`;
      okta.setUser({ id, status: 'ACTIVE', profile: { login: `sync${n}@example.test`, sshPublicKeys: [] } }, [
        'Engineering',
      ]);
      const entry: InboxEntry = {
        source: 'okta',
        uuid: `sync-${n}`,
        eventType: 'user.lifecycle.create',
        published: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
        deliveryId: 'bench',
        userIds: [id],
      };
      await inbox.put(inboxKeyOf(entry.uuid), JSON.stringify(entry));
    }
    const deps = {
      inbox,
      store,
      okta: new OktaClient({ orgUrl: okta.url, apiToken: okta.apiToken }),
      settings: { keysAttribute: 'sshPublicKeys', groupPattern: /./ },
      log: silentLog,
    };
    const started = performance.now();
    const { results, failed } = await applyPendingEntries(deps);
    const seconds = (performance.now() - started) / 1000;
    if (failed.length > 0 || results.length !== count)
      throw new Error(`sync bench: ${failed.length} entries failed`);
    return count / seconds;
  } finally {
    await okta.close();
    await store.close();
  }
}

export async function runSyncThroughputBench(count: number, folder: string): Promise<void> {
  const embedded = await syncThroughput(
    count,
    join(folder, 'embedded'),
    new EmbeddedDirectoryStore(join(folder, 'directory.json')),
  );
  const server = await startSlapd({ suffix: SUFFIX, ldif: [fixture('base.ldif')] });
  try {
    const ldap = await syncThroughput(count, join(folder, 'ldap'), storeFor(server));
    console.log(`\nSync throughput, ${count} deliveries each creating a person with one group`);
    printTable(
      ['directory', 'deliveries/s', 'ratio'],
      [
        ['embedded JSON file (baseline)', embedded.toFixed(0), '1.00'],
        ['real slapd over mutual TLS', ldap.toFixed(0), `${(ldap / embedded).toFixed(2)}×`],
      ],
    );
  } finally {
    await server.stop();
  }
}
