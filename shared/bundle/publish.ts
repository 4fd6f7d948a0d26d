// Publishes every host class's bundle from one directory snapshot: files first, manifest last.

import type { DirectorySnapshot } from '../directory/model.ts';
import { PreconditionFailedError, PublishError, PublishRefusedError } from '../errors.ts';
import type { Policy } from '../policy/policy.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { BundleBuilder, type ClassFiles } from './class-bundle.ts';
import {
  type BundleFileEntry,
  type BundleFileName,
  fileObjectKey,
  type Manifest,
  manifestObjectKey,
  readManifestUnverified,
  type SigningKey,
  sha256Hex,
  signManifest,
} from './manifest.ts';
import type { SkippedRecord } from './nss-maps.ts';

/** Bundle files written at once; S3 takes many parallel PUTs, and a local folder overlaps its fsyncs. */
const FILE_WRITE_CONCURRENCY = 8;

/** Attempts at the manifest compare-and-swap before a publish gives up; each loss means another publisher won. */
const MANIFEST_WRITE_ATTEMPTS = 5;

/**
 * Largest share of a class's people one publish may drop without an operator's confirmation. A
 * truncated directory read looks like a mass departure; real departures rarely reach a tenth at once.
 */
export const PUBLISH_SHRINK_LIMIT_PERCENT = 10;

/**
 * Drops of up to this many people pass the shrink guard whatever the share, so offboarding one or
 * two people from a small class never waits for an operator. An empty snapshot is refused anyway.
 */
export const PUBLISH_SHRINK_FREE_PEOPLE = 2;

export interface PublishInput {
  snapshot: DirectorySnapshot;
  policy: Policy;
  store: ObjectStore;
  signingKey: SigningKey;
  /** Valid emergency keys as authorized_keys lines, for classes whose policy includes them. */
  emergencyKeys?: readonly string[];
  now?: Date;
  /** Publishes a snapshot with zero people; only an operator sets this. */
  allowEmpty?: boolean;
  shrinkLimitPercent?: number;
  shrinkFreePeople?: number;
  /** Publishes even when a class loses more than the shrink limit; only an operator sets this. */
  confirmShrink?: boolean;
}

export interface ClassPublishResult {
  hostClass: string;
  /** `published`: a new manifest; `unchanged`: same files and the current manifest is fresh enough; `superseded`: a newer snapshot is already published. */
  outcome: 'published' | 'unchanged' | 'superseded';
  serial: number;
  people: number;
  bytes: number;
  skipped: SkippedRecord[];
}

export interface PlannedClass {
  hostClass: string;
  built: ClassFiles;
  entries: Manifest['files'];
  lifetimeMs: number;
  current: Awaited<ReturnType<ObjectStore['get']>>;
}

/**
 * Publishes every class of the policy. Nothing is published, and PublishRefusedError names the
 * classes, when the snapshot is empty or a class would lose more than the shrink limit.
 */
export async function publishBundles(input: PublishInput): Promise<ClassPublishResult[]> {
  const planned = await planBundles(input);
  checkGuards(input, planned);

  // 1. Content-addressed files, each written once; a manifest never names a missing file.
  const uploads = new Map<string, Buffer>();
  for (const plan of planned) for (const body of plan.built.files.values()) uploads.set(hashOf(body), body);
  await inParallel([...uploads], FILE_WRITE_CONCURRENCY, ([sha256, body]) =>
    input.store.putIfAbsent(fileObjectKey(sha256), body),
  );

  // 2. Each class's manifest, by compare-and-swap, so concurrent publishers never lower a serial.
  const results: ClassPublishResult[] = [];
  for (const plan of planned) {
    const manifest = await writeManifest(input, plan);
    const bytes = Object.values(plan.entries).reduce((sum, entry) => sum + (entry?.size ?? 0), 0);
    results.push({
      hostClass: plan.hostClass,
      ...manifest,
      people: plan.built.people.length,
      bytes,
      skipped: plan.built.skipped,
    });
  }
  return results;
}

/** Builds every class's files and reads its current manifest, writing nothing. */
export async function planBundles(input: PublishInput): Promise<PlannedClass[]> {
  const builder = new BundleBuilder(input.snapshot);
  const planned: PlannedClass[] = [];
  for (const hostClass of input.policy.hostClasses) {
    const built = builder.build(hostClass, input.emergencyKeys);
    const entries: Partial<Record<string, BundleFileEntry>> = {};
    for (const [name, body] of built.files) entries[name] = { sha256: hashOf(body), size: body.length };
    const current = await input.store.get(manifestObjectKey(hostClass.name));
    planned.push({
      hostClass: hostClass.name,
      built,
      entries,
      lifetimeMs: hostClass.bundleLifetimeHours * 3_600_000,
      current,
    });
  }
  return planned;
}

/** Throws PublishRefusedError when a guard refuses the publish; the caller then writes nothing. */
export function checkGuards(input: PublishInput, planned: readonly PlannedClass[]): void {
  if (input.snapshot.people.length === 0 && !input.allowEmpty) {
    throw new PublishRefusedError(
      'the directory snapshot holds no people; refusing to publish empty bundles',
      [],
    );
  }
  if (input.confirmShrink) return;
  const limit = input.shrinkLimitPercent ?? PUBLISH_SHRINK_LIMIT_PERCENT;
  const free = input.shrinkFreePeople ?? PUBLISH_SHRINK_FREE_PEOPLE;
  const shrinking = planned.flatMap((plan) => {
    const before =
      plan.current.kind === 'found' ? readManifestUnverified(plan.current.body)?.people : undefined;
    const after = plan.built.people.length;
    const dropped = (before ?? 0) - after;
    if (!before || dropped <= free || (dropped / before) * 100 <= limit) return [];
    return [`${plan.hostClass} would go from ${before} to ${after} people`];
  });
  if (shrinking.length > 0) {
    throw new PublishRefusedError(
      `refusing to publish: more than ${limit}% of a class's people would lose access (${shrinking.join('; ')}); confirm the shrink to publish anyway`,
      shrinking,
    );
  }
}

async function writeManifest(
  input: PublishInput,
  plan: PlannedClass,
): Promise<{ outcome: ClassPublishResult['outcome']; serial: number }> {
  const key = manifestObjectKey(plan.hostClass);
  let current = plan.current;
  for (let attempt = 1; attempt <= MANIFEST_WRITE_ATTEMPTS; attempt++) {
    if (attempt > 1) current = await input.store.get(key);
    const now = input.now ?? new Date();
    const previous = current.kind === 'found' ? readManifestUnverified(current.body) : undefined;

    if (previous?.snapshotAt && previous.snapshotAt > input.snapshot.readAt) {
      return { outcome: 'superseded', serial: previous.serial };
    }
    if (previous && sameFiles(previous.files, plan.entries) && isFresh(previous, now, plan.lifetimeMs)) {
      return { outcome: 'unchanged', serial: previous.serial };
    }

    const manifest: Manifest = {
      format: 1,
      hostClass: plan.hostClass,
      serial: (previous?.serial ?? 0) + 1,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + plan.lifetimeMs).toISOString(),
      keyId: input.signingKey.keyId,
      snapshotAt: input.snapshot.readAt,
      people: plan.built.people.length,
      files: plan.entries,
    };
    const body = signManifest(manifest, input.signingKey);
    try {
      if (current.kind === 'found') await input.store.putIfMatch(key, body, current.etag);
      else if (!(await input.store.putIfAbsent(key, body)))
        throw new PreconditionFailedError(`${key} appeared`);
    } catch (error) {
      if (error instanceof PreconditionFailedError) continue;
      throw error;
    }
    await input.store.putIfAbsent(historyObjectKey(plan.hostClass, manifest.serial), body);
    return { outcome: 'published', serial: manifest.serial };
  }
  throw new PublishError(
    `the manifest of host class ${plan.hostClass} kept changing; gave up after ${MANIFEST_WRITE_ATTEMPTS} attempts`,
  );
}

/** Runs `task` over the items with at most `limit` running at once; rejects on the first failure. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Classes share file buffers (see BundleBuilder), so each buffer is hashed once per process. */
const hashes = new WeakMap<Buffer, string>();

function hashOf(body: Buffer): string {
  let hash = hashes.get(body);
  if (!hash) {
    hash = sha256Hex(body);
    hashes.set(body, hash);
  }
  return hash;
}

/** Reads the files a stored manifest names, for comparing a planned bundle with the current one. */
export async function readPublishedFiles(
  store: ObjectStore,
  manifestBody: Buffer,
): Promise<Map<BundleFileName, Buffer>> {
  const files = new Map<BundleFileName, Buffer>();
  const manifest = readManifestUnverified(manifestBody);
  for (const [name, entry] of Object.entries(manifest?.files ?? {})) {
    if (!entry) continue;
    const object = await store.get(fileObjectKey(entry.sha256));
    if (object.kind === 'found') files.set(name as BundleFileName, object.body);
  }
  return files;
}

/** Object key of an earlier manifest, kept so `access-at` can list who had access at a past time. */
export function historyObjectKey(hostClass: string, serial: number): string {
  return `manifests-history/${hostClass}/${String(serial).padStart(12, '0')}.json`;
}

function sameFiles(a: Manifest['files'], b: Manifest['files']): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof Manifest['files']>;
  for (const name of names) if (a[name]?.sha256 !== b[name]?.sha256) return false;
  return true;
}

/**
 * Share of a bundle's lifetime after which an unchanged bundle is signed again. A quarter (18 h of
 * the default 72 h) keeps every host's bundle younger than the agent's 24 h staleness alarm, with the
 * 15-minute publish schedule and the poll interval to spare.
 */
export const RESIGN_AFTER_LIFETIME_SHARE = 0.25;

/** Returns true while the manifest has used less than RESIGN_AFTER_LIFETIME_SHARE of its lifetime. */
function isFresh(manifest: Manifest, now: Date, lifetimeMs: number): boolean {
  return now.getTime() - Date.parse(manifest.issuedAt) < lifetimeMs * RESIGN_AFTER_LIFETIME_SHARE;
}
