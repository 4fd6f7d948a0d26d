import { describe, expect, it } from 'vitest';
import { diffBundles, isEmptyDiff } from '../../shared/bundle/bundle-diff.ts';
import type { BundleFileName } from '../../shared/bundle/manifest.ts';

function files(passwd: string[], sshkey: string[], sudoers?: string[]): Map<BundleFileName, Buffer> {
  const map = new Map<BundleFileName, Buffer>([
    ['passwd.cache', Buffer.from(passwd.map((name) => `${name}:x:1:1::/home/${name}:/bin/bash\n`).join(''))],
    ['sshkey.cache', Buffer.from(sshkey.map((line) => `${line}\n`).join(''))],
  ]);
  if (sudoers) map.set('sudoers', Buffer.from(`# header\n${sudoers.join('\n')}\n`));
  return map;
}

describe('diffBundles', () => {
  it('lists people added and removed, key changes and sudo changes', () => {
    const before = files(
      ['ana', 'ben', 'cy'],
      ['ana:ssh-ed25519 A', 'ben:ssh-ed25519 B'],
      ['%ops ALL=(root) NOPASSWD: ALL'],
    );
    const after = files(
      ['ana', 'ben', 'dee'],
      ['ana:ssh-ed25519 A2', 'ben:ssh-ed25519 B'],
      ['%ops ALL=(root) /usr/bin/id'],
    );
    expect(diffBundles(before, after)).toEqual({
      added: ['dee'],
      removed: ['cy'],
      keysChanged: ['ana'],
      sudoAdded: ['%ops ALL=(root) /usr/bin/id'],
      sudoRemoved: ['%ops ALL=(root) NOPASSWD: ALL'],
    });
  });

  it('treats reordered keys as unchanged', () => {
    const before = files(['ana'], ['ana:k1', 'ana:k2']);
    const after = files(['ana'], ['ana:k2', 'ana:k1']);
    expect(isEmptyDiff(diffBundles(before, after))).toBe(true);
  });

  it('lists everyone as added for a class never published', () => {
    expect(diffBundles(new Map(), files(['ana'], [])).added).toEqual(['ana']);
  });
});
