// What a new bundle changes for a host class: who gains or loses access, whose keys change, which sudo rules.

import type { BundleFileName } from './manifest.ts';

export interface BundleDiff {
  added: string[];
  removed: string[];
  keysChanged: string[];
  sudoAdded: string[];
  sudoRemoved: string[];
}

type Files = ReadonlyMap<BundleFileName, Buffer>;

/** Compares two bundles' files; `before` is empty for a class that has never been published. */
export function diffBundles(before: Files, after: Files): BundleDiff {
  const oldPeople = namesIn(before.get('passwd.cache'));
  const newPeople = namesIn(after.get('passwd.cache'));
  const oldKeys = keysByName(before.get('sshkey.cache'));
  const newKeys = keysByName(after.get('sshkey.cache'));
  const oldSudo = linesOf(before.get('sudoers')).filter((line) => !line.startsWith('#'));
  const newSudo = linesOf(after.get('sudoers')).filter((line) => !line.startsWith('#'));

  return {
    added: [...newPeople].filter((name) => !oldPeople.has(name)),
    removed: [...oldPeople].filter((name) => !newPeople.has(name)),
    keysChanged: [...newPeople].filter(
      (name) =>
        oldPeople.has(name) && (oldKeys.get(name) ?? []).join('\n') !== (newKeys.get(name) ?? []).join('\n'),
    ),
    sudoAdded: newSudo.filter((line) => !oldSudo.includes(line)),
    sudoRemoved: oldSudo.filter((line) => !newSudo.includes(line)),
  };
}

/** True when the diff changes nothing anyone can do. */
export function isEmptyDiff(diff: BundleDiff): boolean {
  return Object.values(diff).every((list) => list.length === 0);
}

function linesOf(file: Buffer | undefined): string[] {
  return file ? file.toString('utf8').split('\n').filter(Boolean) : [];
}

function namesIn(passwd: Buffer | undefined): Set<string> {
  return new Set(linesOf(passwd).map((line) => line.slice(0, line.indexOf(':'))));
}

function keysByName(sshkey: Buffer | undefined): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of linesOf(sshkey)) {
    const name = line.slice(0, line.indexOf(':'));
    keys.set(name, [...(keys.get(name) ?? []), line.slice(name.length + 1)].sort());
  }
  return keys;
}
