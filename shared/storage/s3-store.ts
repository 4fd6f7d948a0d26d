// The object store over Amazon S3, or an S3-compatible endpoint in tests, with S3's conditional writes.

import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type PutObjectCommandInput,
  S3Client,
} from '@aws-sdk/client-s3';
import { PreconditionFailedError, StorageError } from '../errors.ts';
import type { GetResult, ObjectStore } from './object-store.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** The client to use. Without one, a client is built from `region`, `endpoint` and `forcePathStyle`. */
  client?: S3Client;
  region?: string;
  /** An S3-compatible endpoint such as `http://127.0.0.1:4566`, for tests and local runs. */
  endpoint?: string;
  /** Puts the bucket in the URL path, which endpoints addressed by IP address or `localhost` need. */
  forcePathStyle?: boolean;
}

/** One S3 bucket as an ObjectStore, plus reads of a given object version and of an object's tags. */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  private readonly client: S3Client;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.location = `s3://${options.bucket}`;
    this.client =
      options.client ??
      new S3Client({
        ...(options.region !== undefined && { region: options.region }),
        ...(options.endpoint !== undefined && { endpoint: options.endpoint }),
        ...(options.forcePathStyle !== undefined && { forcePathStyle: options.forcePathStyle }),
      });
  }

  get(key: string, options: { ifNoneMatch?: string } = {}): Promise<GetResult> {
    return this.read(key, options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch });
  }

  /**
   * Reads one version of an object, or the current one when `versionId` is absent. A version that does
   * not exist, or that is a delete marker, reads as `absent`.
   */
  getVersion(key: string, versionId?: string): Promise<GetResult> {
    return this.read(key, versionId === undefined ? {} : { VersionId: versionId });
  }

  /** Returns the object's tags as a name-to-value record. */
  async getTags(key: string, versionId?: string): Promise<Record<string, string>> {
    const command = new GetObjectTaggingCommand({
      Bucket: this.bucket,
      Key: key,
      ...(versionId !== undefined && { VersionId: versionId }),
    });
    try {
      const output = await this.client.send(command);
      return Object.fromEntries((output.TagSet ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    } catch (error) {
      throw new StorageError(`reading the tags of ${key} in ${this.location} failed`, { cause: error });
    }
  }

  async put(key: string, body: Buffer | string): Promise<{ etag: string }> {
    return this.write(key, body, {});
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    try {
      await this.write(key, body, { IfNoneMatch: '*' });
      return true;
    } catch (error) {
      // 412 means the object exists. A 409 (a concurrent conditional write) leaves that unknown, so it
      // stays a PreconditionFailedError and the caller retries.
      if (error instanceof PreconditionFailedError && statusOf(error.cause) === 412) return false;
      throw error;
    }
  }

  putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }> {
    return this.write(key, body, { IfMatch: etag });
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let continuationToken: string | undefined;
    do {
      const command = new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: prefix,
        ...(continuationToken !== undefined && { ContinuationToken: continuationToken }),
      });
      let output: ListObjectsV2CommandOutput;
      try {
        output = await this.client.send(command);
      } catch (error) {
        throw new StorageError(`listing ${prefix || '(all keys)'} in ${this.location} failed`, {
          cause: error,
        });
      }
      for (const object of output.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
      continuationToken = output.IsTruncated ? output.NextContinuationToken : undefined;
    } while (continuationToken !== undefined);
    return keys.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  async sizeOf(key: string): Promise<number | undefined> {
    try {
      const output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return output.ContentLength;
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw new StorageError(`reading the size of ${key} in ${this.location} failed`, { cause: error });
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      throw new StorageError(`deleting ${key} from ${this.location} failed`, { cause: error });
    }
  }

  private async read(key: string, conditions: Partial<GetObjectCommandInput>): Promise<GetResult> {
    let output: GetObjectCommandOutput;
    try {
      output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...conditions }));
    } catch (error) {
      const status = statusOf(error);
      if (status === 304) return { kind: 'not-modified' };
      if (status === 404) return { kind: 'absent' };
      // S3 returns 405 Method Not Allowed for a GET of a delete marker's version id.
      if (status === 405 && conditions.VersionId !== undefined) return { kind: 'absent' };
      throw new StorageError(`reading ${key} from ${this.location} failed`, { cause: error });
    }
    if (!output.Body || output.ETag === undefined) {
      throw new StorageError(`reading ${key} from ${this.location} returned no body or no ETag`);
    }
    return { kind: 'found', body: Buffer.from(await output.Body.transformToByteArray()), etag: output.ETag };
  }

  private async write(
    key: string,
    body: Buffer | string,
    conditions: Partial<PutObjectCommandInput>,
  ): Promise<{ etag: string }> {
    let etag: string | undefined;
    try {
      const output = await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.from(body), ...conditions }),
      );
      etag = output.ETag;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 409) {
        throw new PreconditionFailedError(
          `${key} in ${this.location} changed or was created by another writer`,
          {
            cause: error,
          },
        );
      }
      throw new StorageError(`writing ${key} to ${this.location} failed`, { cause: error });
    }
    if (etag === undefined) throw new StorageError(`writing ${key} to ${this.location} returned no ETag`);
    return { etag };
  }
}

/** Returns the HTTP status of an AWS SDK error, or undefined when no response arrived. */
function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
