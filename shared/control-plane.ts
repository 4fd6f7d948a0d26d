// The control plane's jobs, shared by the Lambda handlers and the local stack: sync and publish.

import { type ClassPublishResult, publishBundles } from './bundle/publish.ts';
import type { HrSyncDeps } from './directory/hr-sync.ts';
import {
  applyInboxEntry,
  directoryChanged,
  type EntryResult,
  type InboxSyncDeps,
} from './directory/inbox-sync.ts';
import type { DirectoryStore } from './directory/model.ts';
import type { Log } from './log.ts';
import type { Runtime } from './runtime.ts';

/** Everything the inbox sync needs, from the runtime and an open directory. */
export async function inboxSyncDeps(
  runtime: Runtime,
  store: DirectoryStore,
  log: Log,
): Promise<InboxSyncDeps> {
  const { config } = runtime;
  const hr = await runtime.hr();
  const hrDeps = hr && {
    hr,
    store: store as HrSyncDeps['store'],
    settings: { matchKey: config.hr.matchKey, groupPrefix: config.hr.groupPrefix },
  };
  return {
    inbox: runtime.bucket(config.buckets.inbox),
    audit: runtime.bucket(config.buckets.audit),
    policy: await runtime.policy(),
    store,
    okta: await runtime.okta(),
    settings: {
      keysAttribute: config.okta.keysAttribute,
      groupPattern: config.okta.groupPattern,
      hrGroupPrefix: config.hr.groupPrefix,
    },
    log,
    ...(hrDeps ? { hr: hrDeps } : {}),
  };
}

/** Applies the given inbox entries. Throws on the first failure, so the trigger retries. */
export async function syncInboxKeys(
  runtime: Runtime,
  keys: readonly string[],
  log: Log,
): Promise<EntryResult[]> {
  const store = await runtime.openDirectory();
  try {
    const deps = await inboxSyncDeps(runtime, store, log);
    const results: EntryResult[] = [];
    for (const key of keys) results.push(await applyInboxEntry(key, deps));
    return results;
  } finally {
    await store.close();
  }
}

export { directoryChanged };

type HrStore = HrSyncDeps['store'];

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
