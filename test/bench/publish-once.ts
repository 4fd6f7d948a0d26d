// One measured publish, run in its own process so its peak memory is its own:
// tsx publish-once.ts <people> <groups> <bucket folder> <class count>. Prints JSON.

import { generateKeyPairSync } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { keyIdOf } from '../../shared/bundle/manifest.ts';
import { publishBundles } from '../../shared/bundle/publish.ts';
import { parsePolicy } from '../../shared/policy/policy.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { generateSnapshot } from './generate.ts';

const [people = '10000', groups = '500', folder = '/tmp/fleet-login-bench', classes = '1'] =
  process.argv.slice(2);
const snapshot = generateSnapshot(Number(people), Number(groups));
const policyLines = Array.from({ length: Number(classes) }, (_, n) =>
  n === 0
    ? '  general: { allowGroups: ["*"] }'
    : `  class-${n}: { allowGroups: ["*"], shellOverride: /usr/sbin/nologin-${n} }`,
);
const policy = parsePolicy(`hostClasses:\n${policyLines.join('\n')}\n`, 'bench policy');
const pair = generateKeyPairSync('ed25519');
const signingKey = { keyId: keyIdOf(pair.publicKey), privateKey: pair.privateKey };
await mkdir(folder, { recursive: true });
await writeFile(
  join(folder, 'keyring.pem'),
  pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
);

const started = performance.now();
const results = await publishBundles({
  snapshot,
  policy,
  store: new LocalFolderStore(join(folder, 'bucket')),
  signingKey,
});
const ms = performance.now() - started;
console.log(JSON.stringify({ ms, bytes: results.reduce((sum, result) => sum + result.bytes, 0) }));
