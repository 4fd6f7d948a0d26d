// The control plane's jobs, shared by the Lambda handlers and the local stack: sync and publish.

import { type ClassPublishResult, publishBundles } from './bundle/publish.ts';
import { applyInboxEntry, directoryChanged, type EntryResult } from './directory/inbox-sync.ts';
import type { Log } from './log.ts';
import type { Runtime } from './runtime.ts';

/** Applies the given inbox entries; returns whether the directory changed. Throws on the first failure. */
export async function syncInboxKeys(
  runtime: Runtime,
  keys: readonly string[],
  log: Log,
): Promise<EntryResult[]> {
  const store = await runtime.openDirectory();
  try {
    const deps = {
      inbox: runtime.bucket(runtime.config.buckets.inbox),
      store,
      okta: await runtime.okta(),
      settings: {
        keysAttribute: runtime.config.okta.keysAttribute,
        groupPattern: runtime.config.okta.groupPattern,
      },
      log,
    };
    const results: EntryResult[] = [];
    for (const key of keys) results.push(await applyInboxEntry(key, deps));
    return results;
  } finally {
    await store.close();
  }
}

export { directoryChanged };

export interface PublishOptions {
  allowEmpty?: boolean;
  now?: Date;
}

/** Reads one snapshot and publishes every host class's bundle from it. */
export async function publishAll(
  runtime: Runtime,
  log: Log,
  options: PublishOptions = {},
): Promise<ClassPublishResult[]> {
  const store = await runtime.openDirectory();
  let snapshot: Awaited<ReturnType<typeof store.snapshot>>;
  try {
    snapshot = await store.snapshot();
  } finally {
    await store.close();
  }
  const results = await publishBundles({
    snapshot,
    policy: await runtime.policy(),
    store: runtime.bucket(runtime.config.buckets.bundles),
    signingKey: await runtime.signingKey(),
    ...options,
  });
  for (const result of results) {
    log.info('host class published', {
      hostClass: result.hostClass,
      outcome: result.outcome,
      serial: result.serial,
      people: result.people,
      bytes: result.bytes,
      skipped: result.skipped.length,
    });
  }
  return results;
}
