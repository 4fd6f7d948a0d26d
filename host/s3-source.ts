// Reads the bundle bucket with signed S3 GetObject requests over node:http and node:https. The agent
// only ever gets objects, so it needs no AWS SDK, whose loading cost tens of milliseconds per sync.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { StorageError } from '../shared/errors.ts';
import type { GetResult } from '../shared/storage/object-store.ts';
import { createCredentialProvider } from './aws-credentials.ts';
import type { BundleSource } from './config.ts';
import { type AwsCredentials, encodeKeyPath, signRequest } from './sigv4.ts';
import type { BundleStore, OpenedStore } from './store.ts';

/** Time to open a TCP connection to S3 before the attempt fails. An estimate, generous even across regions. */
export const S3_CONNECTION_TIMEOUT_MS = 5_000;
/** Time a request's socket may stay idle before the attempt fails. An estimate, far above S3's usual latency. */
export const S3_REQUEST_TIMEOUT_MS = 30_000;
/** Attempts per request. After that, the timer's next run retries. */
export const S3_MAX_ATTEMPTS = 3;
/** First retry delay; each later one doubles, and the wait is drawn at random below it (full jitter). */
const RETRY_BASE_DELAY_MS = 100;
/** Statuses S3 returns for a fault on its side or for throttling, which the next attempt may not meet. */
const RETRYABLE_STATUSES = new Set([429, 500, 502, 503, 504]);

export type S3Source = Extract<BundleSource, { type: 's3' }>;

/** Address of one bucket's objects: the origin to connect to and the path prefix before each key. */
interface BucketAddress {
  url: URL;
  pathPrefix: string;
}

/** The HTTP client for the endpoint's scheme: node:http's or node:https's agent and request function. */
export interface Transport {
  agent: HttpAgent;
  request: typeof httpRequest;
}

interface S3ReaderOptions {
  transport: Transport;
  getCredentials?: () => Promise<AwsCredentials>;
  now?: () => Date;
}

/** One bucket, read with GetObject only; `get` follows the ObjectStore contract. */
export class S3BundleReader implements BundleStore {
  readonly location: string;
  private readonly address: BucketAddress;
  private readonly transport: Transport;
  private readonly getCredentials: () => Promise<AwsCredentials>;
  private readonly now: () => Date;

  constructor(
    private readonly source: S3Source,
    options: S3ReaderOptions,
  ) {
    this.location = `s3://${source.bucket}`;
    this.address = bucketAddress(source);
    this.transport = options.transport;
    this.getCredentials = options.getCredentials ?? createCredentialProvider();
    this.now = options.now ?? (() => new Date());
  }

  /** Gets an object, conditional on `ifNoneMatch`. Throws StorageError naming the key and the failure. */
  async get(key: string, options: { ifNoneMatch?: string } = {}): Promise<GetResult> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= S3_MAX_ATTEMPTS; attempt++) {
      if (attempt > 1) await sleep(Math.random() * RETRY_BASE_DELAY_MS * 2 ** (attempt - 2));
      try {
        return await this.getOnce(key, options.ifNoneMatch);
      } catch (error) {
        lastError = error;
        if (!(error instanceof RetryableError)) break;
      }
    }
    if (lastError instanceof StorageError) throw lastError;
    const detail = lastError instanceof Error ? lastError.message : String(lastError);
    throw new StorageError(`reading ${key} from ${this.location} failed: ${detail}`, { cause: lastError });
  }

  /** Releases the kept-alive connections. */
  close(): void {
    this.transport.agent.destroy();
  }

  private async getOnce(key: string, ifNoneMatch: string | undefined): Promise<GetResult> {
    const credentials = await this.getCredentials();
    const { url, pathPrefix } = this.address;
    const path = `${pathPrefix}/${encodeKeyPath(key)}`;
    const headers = signRequest(
      {
        method: 'GET',
        host: url.host,
        path,
        headers: ifNoneMatch === undefined ? {} : { 'if-none-match': ifNoneMatch },
      },
      credentials,
      { region: this.source.region, service: 's3' },
      this.now(),
    );
    const response = await this.send(path, headers);
    const status = response.status;
    if (status === 304) return { kind: 'not-modified' };
    if (status === 404) return { kind: 'absent' };
    if (status !== 200) {
      const failure = `HTTP ${status}${errorCodeOf(response.body)}`;
      if (RETRYABLE_STATUSES.has(status)) throw new RetryableError(failure);
      throw new StorageError(`reading ${key} from ${this.location} failed: ${failure}`);
    }
    const etag = response.headers.etag;
    if (etag === undefined) throw new StorageError(`reading ${key} from ${this.location} returned no ETag`);
    return { kind: 'found', body: response.body, etag };
  }

  /** Sends one GET and collects the whole response. Network failures throw RetryableError. */
  private send(path: string, headers: Record<string, string>): Promise<CollectedResponse> {
    const { url } = this.address;
    const { agent, request } = this.transport;
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => reject(new RetryableError(error.message, { cause: error }));
      const outgoing = request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: 'GET',
          headers,
          agent,
          timeout: S3_REQUEST_TIMEOUT_MS,
        },
        (response) => collect(response).then(resolve, fail),
      );
      outgoing.on('socket', (socket) => {
        if (!socket.connecting) return;
        const timer = setTimeout(
          () =>
            outgoing.destroy(
              new Error(`connecting to ${url.host} timed out after ${S3_CONNECTION_TIMEOUT_MS} ms`),
            ),
          S3_CONNECTION_TIMEOUT_MS,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`no data from ${url.host} for ${S3_REQUEST_TIMEOUT_MS} ms`)),
      );
      outgoing.on('error', fail);
      outgoing.end();
    });
  }
}

/** Opens the bucket the source names; `close` releases the reader's connections. */
export async function openS3BundleStore(source: S3Source): Promise<OpenedStore> {
  const reader = new S3BundleReader(source, { transport: await transportFor(bucketAddress(source).url) });
  return { store: reader, close: () => reader.close() };
}

/**
 * Returns a keep-alive client for the URL's scheme, so a full install downloads every file over one
 * connection. node:https is imported only for an https URL, because loading TLS costs about 10 ms
 * of start-up (Node.js 20 on a 2-core test machine) that a plain-HTTP endpoint does not need.
 */
export async function transportFor(url: URL): Promise<Transport> {
  if (url.protocol !== 'https:') return { agent: new HttpAgent({ keepAlive: true }), request: httpRequest };
  const https = await import('node:https');
  return { agent: new https.Agent({ keepAlive: true }), request: https.request };
}

/**
 * Returns where the bucket's objects are: virtual-hosted style (`bucket.host/key`) by default, path
 * style (`host/bucket/key`) with forcePathStyle or for a bucket name that is not one DNS label,
 * because a dotted name does not match S3's TLS certificate. This follows the AWS SDK's rules.
 */
export function bucketAddress(source: S3Source): BucketAddress {
  const base = new URL(source.endpoint ?? `https://s3.${source.region}.${awsDomain(source.region)}`);
  const basePath = base.pathname.replace(/\/+$/, '');
  const dnsLabel = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(source.bucket);
  if (source.forcePathStyle || !dnsLabel) {
    return { url: new URL(base.origin), pathPrefix: `${basePath}/${encodeKeyPath(source.bucket)}` };
  }
  const url = new URL(base.origin);
  url.hostname = `${source.bucket}.${url.hostname}`;
  return { url, pathPrefix: basePath };
}

/** Returns the domain of the region's AWS partition, because China regions (cn-*) use amazonaws.com.cn. */
function awsDomain(region: string): string {
  return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/** A failure that the next attempt may not meet: a network error, a timeout, throttling or a 5xx. */
class RetryableError extends Error {}

interface CollectedResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** Reads the whole body; a connection that closes before Content-Length bytes arrived rejects. */
function collect(response: IncomingMessage): Promise<CollectedResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error('the connection closed before the whole body arrived')));
    response.on('end', () => {
      const body = Buffer.concat(chunks);
      // Only a 200 carries the object; a 304 may repeat the object's Content-Length without a body.
      const expected = response.statusCode === 200 ? response.headers['content-length'] : undefined;
      if (!response.complete || (expected !== undefined && Number(expected) !== body.length)) {
        reject(new Error(`the body is ${body.length} bytes, but Content-Length is ${expected}`));
        return;
      }
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body });
    });
  });
}

/** Returns ` (Code)` from an S3 XML error body, or nothing when there is none. */
function errorCodeOf(body: Buffer): string {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(body.toString('utf8', 0, 2_048))?.[1];
  return code === undefined ? '' : ` (${code})`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
