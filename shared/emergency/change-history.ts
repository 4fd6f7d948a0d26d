// The changes to each emergency key that were already alerted, kept as one object per key in a store
// the function owns, so duplicate and reordered S3 events are recognised across invocations.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { PreconditionFailedError, StorageError } from '../errors.ts';
import type { Log } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { compareSequencers } from './s3-notification.ts';

/** Key prefix of the history objects. It must not be in the emergency bucket, whose events would loop. */
export const HISTORY_PREFIX = 'emergency-key-history/';

/**
 * Changes kept per object key, the newest by sequencer. Duplicates usually arrive within minutes, so a
 * duplicate older than a hundred later changes to one key is unlikely (an estimate). It is alerted again.
 */
export const MAX_CHANGES_KEPT = 100;

/** Attempts at the conditional write before giving up. Each failure means a concurrent invocation wrote first. */
const WRITE_ATTEMPTS = 5;

const recordedChangeSchema = z.object({
  sequencer: z.string(),
  kind: z.enum(['created', 'removed']),
  eventTime: z.string(),
  fingerprints: z.array(z.string()).optional(),
});

const historySchema = z.object({
  format: z.literal(1),
  bucket: z.string(),
  key: z.string(),
  changes: z.array(recordedChangeSchema),
});

export type RecordedChange = z.infer<typeof recordedChangeSchema>;

/** The alerted changes of one object key, sorted by sequencer, oldest first. */
export type KeyHistory = Omit<z.infer<typeof historySchema>, 'format'>;

export interface LoadedHistory {
  history: KeyHistory;
  /** ETag of the stored object, absent when none exists yet. */
  etag?: string;
}

export class ChangeHistoryStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly log: Log,
    private readonly prefix: string = HISTORY_PREFIX,
  ) {}

  /** Reads the history of one object key. A corrupt history is logged and read as empty, so alerts repeat rather than stop. */
  async load(bucket: string, key: string): Promise<LoadedHistory> {
    const objectKey = this.objectKeyOf(bucket, key);
    const result = await this.store.get(objectKey);
    const empty: KeyHistory = { bucket, key, changes: [] };
    if (result.kind !== 'found') return { history: empty };

    const parsed = historySchema.safeParse(parseJson(result.body));
    if (!parsed.success || parsed.data.bucket !== bucket || parsed.data.key !== key) {
      this.log.error('corrupt emergency key history replaced', { objectKey, location: this.store.location });
      return { history: empty, etag: result.etag };
    }
    const { format: _format, ...history } = parsed.data;
    return { history, etag: result.etag };
  }

  /**
   * Adds changes to the stored history with a conditional write. When a concurrent invocation wrote
   * first, the history is read again and the changes merged into it, so neither invocation's changes are lost.
   */
  async save(loaded: LoadedHistory, added: readonly RecordedChange[]): Promise<void> {
    const { bucket, key } = loaded.history;
    const objectKey = this.objectKeyOf(bucket, key);
    let current = loaded;
    for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt += 1) {
      const merged = added.reduce(withChange, current.history);
      const body = `${JSON.stringify({ format: 1, ...merged })}\n`;
      try {
        if (current.etag !== undefined) {
          await this.store.putIfMatch(objectKey, body, current.etag);
          return;
        }
        if (await this.store.putIfAbsent(objectKey, body)) return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
      this.log.warn('emergency key history changed concurrently, merging again', { objectKey, attempt });
      current = await this.load(bucket, key);
    }
    throw new StorageError(
      `writing ${objectKey} to ${this.store.location} lost ${WRITE_ATTEMPTS} races in a row`,
    );
  }

  /** Returns the history's object key, a hash because object keys may be long or contain any character. */
  private objectKeyOf(bucket: string, key: string): string {
    // Bucket names cannot contain `/`, so `bucket/key` names one object unambiguously.
    return `${this.prefix}${createHash('sha256').update(`${bucket}/${key}`).digest('hex')}.json`;
  }
}

/** Returns the recorded change with the same sequencer, if any. */
export function findChange(history: KeyHistory, sequencer: string): RecordedChange | undefined {
  return history.changes.find((change) => compareSequencers(change.sequencer, sequencer) === 0);
}

/** Returns the recorded changes just before and just after a sequencer. */
export function neighboursOf(
  history: KeyHistory,
  sequencer: string,
): { previous?: RecordedChange; next?: RecordedChange } {
  const previous = history.changes.findLast((change) => compareSequencers(change.sequencer, sequencer) < 0);
  const next = history.changes.find((change) => compareSequencers(change.sequencer, sequencer) > 0);
  return { ...(previous && { previous }), ...(next && { next }) };
}

/** Returns the history with the change inserted in sequencer order, keeping the newest MAX_CHANGES_KEPT. */
export function withChange(history: KeyHistory, change: RecordedChange): KeyHistory {
  if (findChange(history, change.sequencer)) return history;
  const changes = [...history.changes, change]
    .sort((a, b) => compareSequencers(a.sequencer, b.sequencer))
    .slice(-MAX_CHANGES_KEPT);
  return { ...history, changes };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
