// The object store interface: S3 in deployment, a local folder for `npm start` and unit tests.

/** The outcome of a read. `not-modified` only comes back when the caller passed `ifNoneMatch`. */
export type GetResult =
  | { kind: 'found'; body: Buffer; etag: string }
  | { kind: 'not-modified' }
  | { kind: 'absent' };

/**
 * A flat key space of immutable-by-convention objects. ETags are opaque quoted strings, compared
 * only for equality. Conditional writes throw PreconditionFailedError when they lose.
 */
export interface ObjectStore {
  /** Where the objects live, for messages: `s3://bucket` or a folder path. */
  readonly location: string;
  get(key: string, options?: { ifNoneMatch?: string }): Promise<GetResult>;
  put(key: string, body: Buffer | string): Promise<{ etag: string }>;
  /** Writes only when no object exists under the key; returns false, writing nothing, when one does. */
  putIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  /** Replaces the object only while its ETag is still `etag`; throws PreconditionFailedError otherwise. */
  putIfMatch(key: string, body: Buffer | string, etag: string): Promise<{ etag: string }>;
  /** Keys under the prefix, in byte order. */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
  /** Size of the object in bytes without reading it, or undefined when it does not exist. */
  sizeOf(key: string): Promise<number | undefined>;
}
