import { describe, expect, it } from 'vitest';
import { lookupIndex, parseIndex, renderCache, renderIndex } from '../../shared/bundle/index-file.ts';

const NUL = '\0';

describe('renderIndex', () => {
  it('writes the worked example byte for byte', () => {
    // Three records at offsets 0, 72 and 138: the widest key is 5 bytes and the widest offset 3 digits.
    const byName = renderIndex([
      { key: 'carol', offset: 138 },
      { key: 'alice', offset: 0 },
      { key: 'bob', offset: 72 },
    ]);
    const expected = [
      `alice${NUL}0${NUL}${NUL}${NUL}\n`,
      `bob${NUL}72${NUL}${NUL}${NUL}${NUL}\n`,
      `carol${NUL}138${NUL}\n`,
    ].join('');
    expect(byName.toString('latin1')).toBe(expected);
  });

  it('sorts uid keys as text, as strcmp does', () => {
    const byUid = renderIndex([
      { key: '9001', offset: 138 },
      { key: '10002', offset: 72 },
      { key: '10001', offset: 0 },
    ]);
    expect(parseIndex(byUid).map((entry) => entry.key)).toEqual(['10001', '10002', '9001']);
  });

  it('gives every line the same width', () => {
    const index = renderIndex([
      { key: 'a', offset: 0 },
      { key: 'auditors', offset: 40 },
      { key: 'eng', offset: 123456 },
    ]);
    const width = index.indexOf(0x0a) + 1;
    expect(width).toBe('auditors'.length + '123456'.length + 3);
    expect(index.length % width).toBe(0);
  });

  it('sorts by UTF-8 bytes, not UTF-16 code units', () => {
    // U+FF21 sorts before U+1F600 in UTF-16 code units but after it in UTF-8 bytes.
    const index = renderIndex([
      { key: '\u{1F600}', offset: 0 },
      { key: '\uFF21', offset: 5 },
    ]);
    expect(parseIndex(index).map((entry) => entry.key)).toEqual(['\uFF21', '\u{1F600}']);
  });

  it('writes an empty file for no entries', () => {
    expect(renderIndex([])).toHaveLength(0);
  });
});

describe('renderCache and the index together', () => {
  const records = [
    { name: 'zoe', id: 100002, line: 'zoe:x:100002:100002:Zoë Ärger:/home/zoe:/bin/bash' },
    { name: 'ana', id: 100000, line: 'ana:x:100000:100000:Ana López:/home/ana:/bin/bash' },
    { name: 'ben', id: 100001, line: 'ben:x:100001:100001:Ben Okafor:/home/ben:/bin/bash' },
  ];

  it('counts offsets in UTF-8 bytes so every entry lands on its line', () => {
    const { cache, offsets } = renderCache(records);
    const index = renderIndex(
      records.map((record, row) => ({ key: record.name, offset: offsets[row] ?? -1 })),
    );
    for (const record of records) {
      const offset = lookupIndex(index, record.name);
      expect(offset).toBeDefined();
      const line = cache.subarray(offset, cache.indexOf(0x0a, offset)).toString('utf8');
      expect(line).toBe(record.line);
    }
  });

  it('round-trips every entry through parseIndex', () => {
    const { offsets } = renderCache(records);
    const entries = records.map((record, row) => ({ key: String(record.id), offset: offsets[row] ?? -1 }));
    const parsed = parseIndex(renderIndex(entries));
    expect(new Set(parsed.map((entry) => `${entry.key}@${entry.offset}`))).toEqual(
      new Set(entries.map((entry) => `${entry.key}@${entry.offset}`)),
    );
  });

  it('finds nothing for a key that is absent', () => {
    const { offsets } = renderCache(records);
    const index = renderIndex(
      records.map((record, row) => ({ key: record.name, offset: offsets[row] ?? -1 })),
    );
    expect(lookupIndex(index, 'an')).toBeUndefined();
    expect(lookupIndex(index, 'zoey')).toBeUndefined();
  });
});

describe('parseIndex', () => {
  it('rejects lines of unequal width', () => {
    expect(() => parseIndex(Buffer.from(`a${NUL}0${NUL}\nbb${NUL}10${NUL}\n`, 'latin1'))).toThrow(
      /same width/,
    );
  });
});

describe('lookupIndex', () => {
  it('finds nothing in an index without a newline instead of looping', () => {
    expect(lookupIndex(Buffer.from('ana\u00000\u0000'), 'ana')).toBeUndefined();
  });

  it('finds nothing in an index of unequal lines', () => {
    expect(lookupIndex(Buffer.from('a\u00000\u0000\nbb\u000010\u0000\n'), 'bb')).toBeUndefined();
  });
});
