// The baseline a publish is compared with, in its own process: generate the same snapshot, then
// only serialise it to JSON, hash it and write it once: the least work that touches every record.

import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateSnapshot } from './generate.ts';

const [people = '10000', groups = '500', folder = '/tmp/fleet-login-bench'] = process.argv.slice(2);
const snapshot = generateSnapshot(Number(people), Number(groups));
const started = performance.now();
const json = JSON.stringify(snapshot);
createHash('sha256').update(json).digest('hex');
await writeFile(join(folder, 'baseline.json'), json);
console.log(JSON.stringify({ ms: performance.now() - started, bytes: json.length }));
