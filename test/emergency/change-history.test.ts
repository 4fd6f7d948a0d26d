import { describe, expect, it } from 'vitest';
import {
  ChangeHistoryStore,
  HISTORY_PREFIX,
  MAX_CHANGES_KEPT,
  neighboursOf,
  type RecordedChange,
  withChange,
} from '../../shared/emergency/change-history.ts';
import { StorageError } from '../../shared/errors.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import type { ObjectStore } from '../../shared/storage/object-store.ts';
import { tempDir } from '../helpers/temp.ts';
import { recordingLog } from './fixtures.ts';

const BUCKET = 'emergency-keys';

function change(sequencer: string, kind: RecordedChange['kind'] = 'created'): RecordedChange {
  return { sequencer, kind, eventTime: '2026-12-01T10:30:00.000Z' };
}

async function folderStore(): Promise<LocalFolderStore> {
  return new LocalFolderStore(await tempDir('change-history-'));
}

describe('ChangeHistoryStore', () => {
  it('loads an empty history for a key never seen', async () => {
    const history = new ChangeHistoryStore(await folderStore(), recordingLog());

    const loaded = await history.load(BUCKET, 'ops/jane.pub');

    expect(loaded).toEqual({ history: { bucket: BUCKET, key: 'ops/jane.pub', changes: [] } });
  });

  it('saves changes and loads them back in sequencer order', async () => {
    const store = await folderStore();
    const history = new ChangeHistoryStore(store, recordingLog());

    await history.save(await history.load(BUCKET, 'ops/jane.pub'), [change('0B', 'removed'), change('0A')]);
    const loaded = await history.load(BUCKET, 'ops/jane.pub');

    expect(loaded.history.changes.map((entry) => entry.sequencer)).toEqual(['0A', '0B']);
    expect(loaded.etag).toMatch(/^".+"$/);
    expect(await store.list(HISTORY_PREFIX)).toHaveLength(1);
  });

  it('keeps keys apart, including keys with odd characters', async () => {
    const history = new ChangeHistoryStore(await folderStore(), recordingLog());
    const odd = 'break-glass/ops+oncall/root key (2).pub';

    await history.save(await history.load(BUCKET, odd), [change('01')]);

    expect((await history.load(BUCKET, odd)).history.changes).toHaveLength(1);
    expect((await history.load(BUCKET, 'other.pub')).history.changes).toHaveLength(0);
    expect((await history.load('other-bucket', odd)).history.changes).toHaveLength(0);
  });

  it('merges when another invocation saved first', async () => {
    const log = recordingLog();
    const history = new ChangeHistoryStore(await folderStore(), log);
    const first = await history.load(BUCKET, 'k.pub');
    const second = await history.load(BUCKET, 'k.pub');

    await history.save(first, [change('01')]);
    await history.save(second, [change('02', 'removed')]);

    const loaded = await history.load(BUCKET, 'k.pub');
    expect(loaded.history.changes.map((entry) => entry.sequencer)).toEqual(['01', '02']);
    expect(log.lines.some((line) => line.message.includes('changed concurrently'))).toBe(true);
  });

  it('merges when another invocation replaced an existing history', async () => {
    const history = new ChangeHistoryStore(await folderStore(), recordingLog());
    await history.save(await history.load(BUCKET, 'k.pub'), [change('01')]);
    const first = await history.load(BUCKET, 'k.pub');
    const second = await history.load(BUCKET, 'k.pub');

    await history.save(first, [change('02')]);
    await history.save(second, [change('03')]);

    const loaded = await history.load(BUCKET, 'k.pub');
    expect(loaded.history.changes.map((entry) => entry.sequencer)).toEqual(['01', '02', '03']);
  });

  it('gives up after losing every conditional write', async () => {
    const store = await folderStore();
    const losing: ObjectStore = Object.assign(Object.create(store), {
      putIfAbsent: async () => false,
      get: (key: string) => store.get(key),
    });
    const history = new ChangeHistoryStore(losing, recordingLog());

    await expect(history.save(await history.load(BUCKET, 'k.pub'), [change('01')])).rejects.toThrow(
      StorageError,
    );
    await expect(history.save(await history.load(BUCKET, 'k.pub'), [change('01')])).rejects.toThrow(
      /lost 5 races/,
    );
  });

  it('reads a corrupt history as empty and logs it', async () => {
    const store = await folderStore();
    const log = recordingLog();
    const history = new ChangeHistoryStore(store, log);
    await history.save(await history.load(BUCKET, 'k.pub'), [change('01')]);
    const [objectKey = ''] = await store.list(HISTORY_PREFIX);
    await store.put(objectKey, 'not json');

    const loaded = await history.load(BUCKET, 'k.pub');
    await history.save(loaded, [change('02')]);

    expect(loaded.history.changes).toEqual([]);
    expect(
      log.lines.some(
        (line) => line.level === 'error' && line.message === 'corrupt emergency key history replaced',
      ),
    ).toBe(true);
    expect((await history.load(BUCKET, 'k.pub')).history.changes.map((entry) => entry.sequencer)).toEqual([
      '02',
    ]);
  });
});

describe('withChange', () => {
  it('ignores a sequencer already recorded, even when padded differently', () => {
    const history = withChange({ bucket: BUCKET, key: 'k', changes: [] }, change('0A'));

    expect(withChange(history, change('0A00', 'removed')).changes).toEqual([change('0A')]);
  });

  it(`keeps the newest ${MAX_CHANGES_KEPT} changes`, () => {
    let history = { bucket: BUCKET, key: 'k', changes: [] as RecordedChange[] };
    for (let index = MAX_CHANGES_KEPT + 5; index >= 1; index -= 1) {
      history = withChange(history, change(index.toString(16).padStart(4, '0')));
    }

    expect(history.changes).toHaveLength(MAX_CHANGES_KEPT);
    expect(history.changes[0]?.sequencer).toBe('0006');
    expect(history.changes.at(-1)?.sequencer).toBe((MAX_CHANGES_KEPT + 5).toString(16).padStart(4, '0'));
  });
});

describe('neighboursOf', () => {
  it('finds the changes just before and after a sequencer', () => {
    const history = {
      bucket: BUCKET,
      key: 'k',
      changes: [change('01'), change('03', 'removed'), change('05')],
    };

    expect(neighboursOf(history, '04')).toEqual({ previous: change('03', 'removed'), next: change('05') });
    expect(neighboursOf(history, '00')).toEqual({ next: change('01') });
    expect(neighboursOf(history, '06')).toEqual({ previous: change('05') });
  });
});
