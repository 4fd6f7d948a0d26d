// Every installed passwd and group entry resolves by name and by id through its index files,
// read the way libnss-cache reads them: width from the first line, bsearch with strcmp, offsets at line starts.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../host/exit-codes.ts';
import type { Group, Person } from '../../shared/directory/model.ts';
import { type AgentRoot, createAgentRoot } from './agent-root.ts';
import { makePerson, renderNssFiles } from './bundle-fixture.ts';

const NEWLINE = 0x0a;

/** Display names with multi-byte UTF-8, so any offset counted in characters would land mid-line. */
const DISPLAY_NAMES = [
  'Zoë Ärger',
  'Søren Østergård',
  '王小明',
  'Ana López',
  'Łukasz Żółć',
  'José Müller-Lüdenscheidt',
];

/** Uids of different digit counts, so string order (strcmp) and numeric order disagree. */
function buildDirectory(): { people: Person[]; groups: Group[] } {
  const people: Person[] = [];
  for (let i = 0; i < 60; i += 1) {
    const uid = ([999, 1000, 9001, 10001, 100001][i % 5] as number) + i;
    const displayName = DISPLAY_NAMES[i % DISPLAY_NAMES.length] ?? 'Example';
    people.push(makePerson(`user${i}`, uid, { displayName: `${displayName} ${i}` }));
  }
  const groups: Group[] = people.map((person) => ({
    name: person.username,
    gidNumber: person.gidNumber,
    members: [],
  }));
  groups.push({ name: 'ops-team', gidNumber: 7000, members: ['user1', 'user2'] });
  groups.push({
    name: 'sre',
    gidNumber: 200000,
    members: people.slice(0, 30).map((person) => person.username),
  });
  return { people, groups };
}

/**
 * Looks a key up as libnss-cache 0.18 does. The entry width is the first line's length including
 * its newline. bsearch(3) compares the key with strcmp against the text before the first NUL, and
 * the offset is the decimal text after it. Returns the record at that offset.
 */
function libnssCacheLookup(index: Buffer, cache: Buffer, key: string): string | undefined {
  const width = index.indexOf(NEWLINE) + 1;
  const count = Math.floor(index.length / width);
  const wanted = Buffer.from(key);
  let low = 0;
  let high = count - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const entry = index.subarray(middle * width, (middle + 1) * width);
    const keyEnd = entry.indexOf(0);
    const order = Buffer.compare(wanted, entry.subarray(0, keyEnd));
    if (order === 0) {
      const offset = Number.parseInt(
        entry.subarray(keyEnd + 1, entry.indexOf(0, keyEnd + 1)).toString('latin1'),
        10,
      );
      if (offset !== 0 && cache[offset - 1] !== NEWLINE)
        throw new Error(`offset ${offset} of ${key} is not at a line start`);
      return cache.subarray(offset, cache.indexOf(NEWLINE, offset)).toString('utf8');
    }
    if (order < 0) high = middle - 1;
    else low = middle + 1;
  }
  return undefined;
}

function expectFixedWidth(index: Buffer, label: string): void {
  const width = index.indexOf(NEWLINE) + 1;
  expect(width, label).toBeGreaterThan(0);
  expect(index.length % width, label).toBe(0);
  for (let start = width - 1; start < index.length; start += width) expect(index[start], label).toBe(NEWLINE);
}

let host: AgentRoot;
const installed = new Map<string, Buffer>();

beforeAll(async () => {
  host = await createAgentRoot();
  const { people, groups } = buildDirectory();
  await host.publish({ serial: 1, files: renderNssFiles(people, groups) });
  const result = await host.sync();
  expect(result.code, result.stderr).toBe(EXIT.ok);
  for (const name of [
    'passwd.cache',
    'passwd.cache.ixname',
    'passwd.cache.ixuid',
    'group.cache',
    'group.cache.ixname',
    'group.cache.ixgid',
  ]) {
    installed.set(name, await readFile(join(host.root, 'etc', name)));
  }
});

afterAll(async () => {
  await host.cleanup();
});

function file(name: string): Buffer {
  const bytes = installed.get(name);
  if (!bytes) throw new Error(`${name} was not installed`);
  return bytes;
}

describe('installed index files', () => {
  it('have lines of one width ending in a newline', () => {
    for (const name of [
      'passwd.cache.ixname',
      'passwd.cache.ixuid',
      'group.cache.ixname',
      'group.cache.ixgid',
    ]) {
      expectFixedWidth(file(name), name);
    }
  });

  it('resolve every passwd entry by name and by uid, non-ASCII GECOS included', () => {
    const lines = file('passwd.cache').toString('utf8').split('\n').filter(Boolean);
    expect(lines.some((line) => Buffer.byteLength(line) !== line.length)).toBe(true);
    for (const line of lines) {
      const [name, , uid] = line.split(':');
      expect(libnssCacheLookup(file('passwd.cache.ixname'), file('passwd.cache'), name ?? ''), name).toBe(
        line,
      );
      expect(libnssCacheLookup(file('passwd.cache.ixuid'), file('passwd.cache'), uid ?? ''), uid).toBe(line);
    }
  });

  it('resolve every group entry by name and by gid', () => {
    const lines = file('group.cache').toString('utf8').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(60);
    for (const line of lines) {
      const [name, , gid] = line.split(':');
      expect(libnssCacheLookup(file('group.cache.ixname'), file('group.cache'), name ?? ''), name).toBe(line);
      expect(libnssCacheLookup(file('group.cache.ixgid'), file('group.cache'), gid ?? ''), gid).toBe(line);
    }
  });

  it('resolve nothing for names and ids that are not there', () => {
    for (const key of ['user', 'user60', 'zzz', '']) {
      expect(libnssCacheLookup(file('passwd.cache.ixname'), file('passwd.cache'), key), key).toBeUndefined();
    }
    expect(libnssCacheLookup(file('passwd.cache.ixuid'), file('passwd.cache'), '1')).toBeUndefined();
  });
});
