// Opens the bundle bucket through the AWS SDK with the instance's credentials. Only `sync` with an
// s3 source imports this module, because loading the SDK costs tens of milliseconds at start-up.

import { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../shared/storage/s3-store.ts';
import type { BundleSource } from './config.ts';

/** Time to open a TCP connection to S3 before the attempt fails. An estimate, generous even across regions. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;
/** Time a request's socket may stay idle before the attempt fails. An estimate, far above S3's usual latency. */
export const S3_REQUEST_TIMEOUT_MS = 30_000;
/** Attempts per request with the SDK's standard retry mode. After that, the timer's next run retries. */
export const S3_MAX_ATTEMPTS = 3;

export type S3Source = Extract<BundleSource, { type: 's3' }>;

/**
 * Creates an S3 client for the source. Credentials come from the SDK's default chain: environment
 * variables, the shared config files, then the instance profile through IMDS on EC2.
 */
export function createS3Client(source: S3Source): S3Client {
  // On Node.js 20 the SDK (3.1178) emits a deprecation warning once per process, which would put
  // a multi-line text block into the agent's JSON log on stderr.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: source.region,
    ...(source.endpoint !== undefined && { endpoint: source.endpoint }),
    ...(source.forcePathStyle !== undefined && { forcePathStyle: source.forcePathStyle }),
    maxAttempts: S3_MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: S3_CONNECTION_TIMEOUT_MS, requestTimeout: S3_REQUEST_TIMEOUT_MS },
  });
}

/** Opens the bucket as an ObjectStore; `close` releases the client's sockets. */
export function openS3BundleStore(source: S3Source): { store: S3ObjectStore; close: () => void } {
  const client = createS3Client(source);
  return { store: new S3ObjectStore({ bucket: source.bucket, client }), close: () => client.destroy() };
}
