// Lambda: applies inbox entries to the directory when S3 reports them, then asks for a publish.

import { randomUUID } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import { directoryChanged, syncInboxKeys } from '../shared/control-plane.ts';
import { defaultRuntime, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import type { Runtime } from '../shared/runtime.ts';
import { objectKeysOf } from '../shared/s3-events.ts';

const logger = createLogger('sync-directory');

/** Prefix of the objects whose S3 events start publish-bundles. */
export const PUBLISH_REQUEST_PREFIX = 'publish-requests/';

/**
 * Builds the handler. A thrown error fails the invocation, so Lambda retries it and, after the
 * last retry, sends the event to the failure destination: an LDAP outage delays changes, loses none.
 */
export function createSyncDirectoryHandler(getRuntime: () => Runtime = defaultRuntime) {
  return withLogger(logger, async (event: S3Event) => {
    const runtime = getRuntime();
    const keys = objectKeysOf(event).filter((key) => key.startsWith('inbox/'));
    const results = await syncInboxKeys(runtime, keys, logger);
    const changed = directoryChanged(results);
    if (changed) await requestPublish(runtime);
    logger.info('inbox entries applied', { entries: keys.length, changed });
    return { entries: keys.length, changed };
  });
}

/** Writes a publish request; its S3 event starts publish-bundles, whose reserved concurrency is one. */
export async function requestPublish(runtime: Runtime): Promise<void> {
  const key = `${PUBLISH_REQUEST_PREFIX}${new Date().toISOString()}-${randomUUID()}.json`;
  await runtime.bucket(runtime.config.buckets.inbox).put(key, '{}');
}

export const handler = createSyncDirectoryHandler();
