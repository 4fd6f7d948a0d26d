// The control plane's jobs, shared by the Lambda handlers and the local stack: sync and publish.

import { type BundleDiff, diffBundles } from './bundle/bundle-diff.ts';
import {
  type ClassPublishResult,
  checkGuards,
  planBundles,
  publishBundles,
  readPublishedFiles,
} from './bundle/publish.ts';
import {
  applyInboxEntry,
  directoryChanged,
  type EntryResult,
  type InboxSyncDeps,
} from './directory/inbox-sync.ts';
import type { DirectorySnapshot, DirectoryStore } from './directory/model.ts';
import { readEmergencyKeys } from './emergency/emergency-keys.ts';
import { PublishRefusedError } from './errors.ts';
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
  const hrDeps = {
    ...(hr ? { hr } : {}),
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
      scopeGroups: config.okta.scopeGroups,
    },
    log,
    hr: hrDeps,
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

export interface PublishOptions {
  allowEmpty?: boolean;
  confirmShrink?: boolean;
  now?: Date;
}

/**
 * Reads one snapshot and the emergency keys, and publishes every host class's bundle from them. A
 * refused publish pages on-call before the error goes back to the caller.
 */
export async function publishAll(
  runtime: Runtime,
  log: Log,
  options: PublishOptions = {},
): Promise<ClassPublishResult[]> {
  const store = await runtime.openDirectory();
  let snapshot: DirectorySnapshot;
  try {
    snapshot = await store.snapshot();
  } finally {
    await store.close();
  }
  const emergency = await readEmergencyKeys(runtime.bucket(runtime.config.buckets.emergency));
  let results: ClassPublishResult[];
  try {
    results = await publishBundles({
      snapshot,
      policy: await runtime.policy(),
      store: runtime.bucket(runtime.config.buckets.bundles),
      signingKey: await runtime.signingKey(),
      emergencyKeys: emergency.lines,
      shrinkLimitPercent: runtime.config.publish.shrinkLimitPercent,
      ...options,
    });
  } catch (error) {
    if (error instanceof PublishRefusedError) await alertRefusal(runtime, error, log);
    throw error;
  }
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

async function alertRefusal(runtime: Runtime, error: PublishRefusedError, log: Log): Promise<void> {
  log.error('publish rejected by a guard', { reason: error.message });
  await runtime.alerter().send({
    severity: 'critical',
    subject: 'fleet-login publish refused: bundles not updated',
    message: [
      error.message,
      '',
      'Hosts keep their current bundles, so nobody gained or lost access. Check the directory for a',
      'truncated or failed read. If the change is real, publish again with confirmation',
      '(npm run publish -- --confirm-shrink, or invoke publish-bundles with {"confirmShrink": true}).',
    ].join('\n'),
  });
}

export interface ClassPreview {
  hostClass: string;
  people: number;
  diff: BundleDiff;
}

/** Plans a publish without writing: what each class's bundle would change, and whether a guard would refuse it. */
export async function previewPublish(
  runtime: Runtime,
  options: PublishOptions = {},
): Promise<{ classes: ClassPreview[]; refusal?: string }> {
  const store = await runtime.openDirectory();
  const snapshot = await store.snapshot().finally(() => store.close());
  const bundles = runtime.bucket(runtime.config.buckets.bundles);
  const input = {
    snapshot,
    policy: await runtime.policy(),
    store: bundles,
    signingKey: await runtime.signingKey(),
    emergencyKeys: (await readEmergencyKeys(runtime.bucket(runtime.config.buckets.emergency))).lines,
    shrinkLimitPercent: runtime.config.publish.shrinkLimitPercent,
    ...options,
  };
  const planned = await planBundles(input);
  const classes: ClassPreview[] = [];
  for (const plan of planned) {
    const before =
      plan.current.kind === 'found' ? await readPublishedFiles(bundles, plan.current.body) : new Map();
    classes.push({
      hostClass: plan.hostClass,
      people: plan.built.people.length,
      diff: diffBundles(before, plan.built.files),
    });
  }
  try {
    checkGuards(input, planned);
    return { classes };
  } catch (error) {
    if (error instanceof PublishRefusedError) return { classes, refusal: error.message };
    throw error;
  }
}
