// The emergency-key bucket: every object parsed as authorized_keys text, valid keys kept for the bundle.

import { type InvalidKeyLine, type ParsedKey, parseAuthorizedKeys } from '../bundle/ssh-key.ts';
import type { GetResult, ObjectStore } from '../storage/object-store.ts';
import { S3ObjectStore } from '../storage/s3-store.ts';

/**
 * Largest emergency-key object that is parsed. An authorized_keys line is at most 16 KiB and an
 * emergency file contains a few keys, so a bigger object is a mistake or an attack. The limit is an estimate.
 */
export const MAX_EMERGENCY_OBJECT_BYTES = 1024 * 1024;

/** The emergency bucket as the function reads it: objects by version id, and their tags. */
export interface EmergencyBucket extends ObjectStore {
  /** Reads a version of the object, or the current object when `versionId` is absent. */
  getVersion(key: string, versionId?: string): Promise<GetResult>;
  getTags(key: string, versionId?: string): Promise<Record<string, string>>;
}

export interface EmergencyKeyLine extends InvalidKeyLine {
  /** The bucket object the line came from. */
  objectKey: string;
}

export interface EmergencyKeys {
  /** Valid keys as authorized_keys lines, objects in key byte order and lines in file order, without repeats. */
  lines: string[];
  keys: { objectKey: string; key: ParsedKey }[];
  /** Lines that failed validation. They never reach a bundle. */
  invalid: EmergencyKeyLine[];
  objects: number;
}

/**
 * Reads every object of the emergency bucket and returns the valid keys. Throws StorageError when the
 * bucket cannot be listed or an object cannot be read, so a publish never drops keys because of an outage.
 */
export async function readEmergencyKeys(store: ObjectStore): Promise<EmergencyKeys> {
  const result: EmergencyKeys = { lines: [], keys: [], invalid: [], objects: 0 };
  const seen = new Set<string>();
  for (const objectKey of await store.list('')) {
    // An oversized object is reported without downloading it, so one stray upload cannot exhaust a publish's memory.
    const size = await store.sizeOf(objectKey);
    if (size !== undefined && size > MAX_EMERGENCY_OBJECT_BYTES) {
      result.objects += 1;
      const reason = `the object is ${size} bytes; the maximum is ${MAX_EMERGENCY_OBJECT_BYTES}`;
      result.invalid.push({ lineNumber: 0, line: '', reason, objectKey });
      continue;
    }
    const object = await store.get(objectKey);
    // An object deleted between the listing and the read is simply gone.
    if (object.kind !== 'found') continue;
    result.objects += 1;

    const { keys, invalid } = parseEmergencyObject(object.body);
    result.invalid.push(...invalid.map((line) => ({ ...line, objectKey })));
    for (const key of keys) {
      if (seen.has(key.line)) continue;
      seen.add(key.line);
      result.lines.push(key.line);
      result.keys.push({ objectKey, key });
    }
  }
  return result;
}

/** Parses one object's bytes as UTF-8 authorized_keys text. An oversized object is one invalid entry at line 0. */
export function parseEmergencyObject(body: Buffer): { keys: ParsedKey[]; invalid: InvalidKeyLine[] } {
  if (body.length > MAX_EMERGENCY_OBJECT_BYTES) {
    const reason = `the object is ${body.length} bytes; the maximum is ${MAX_EMERGENCY_OBJECT_BYTES}`;
    return { keys: [], invalid: [{ lineNumber: 0, line: '', reason }] };
  }
  return parseAuthorizedKeys(body.toString('utf8'));
}

/**
 * Returns the store as an EmergencyBucket. An S3 store reads versions and tags. Any other store (a
 * local folder) keeps neither, so it reads the current object for every version id and reports no tags.
 */
export function asEmergencyBucket(store: ObjectStore): EmergencyBucket {
  if (store instanceof S3ObjectStore) return store;
  return {
    location: store.location,
    get: (key, options) => store.get(key, options),
    put: (key, body) => store.put(key, body),
    putIfAbsent: (key, body) => store.putIfAbsent(key, body),
    putIfMatch: (key, body, etag) => store.putIfMatch(key, body, etag),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    sizeOf: (key) => store.sizeOf(key),
    getVersion: (key) => store.get(key),
    getTags: async () => ({}),
  };
}
