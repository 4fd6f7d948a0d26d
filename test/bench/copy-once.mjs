// Agent baseline, in its own process: copy every file of a folder into another, fsync each, no checks.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [from, to] = process.argv.slice(2);
mkdirSync(to, { recursive: true });
for (const name of readdirSync(from)) {
  const target = join(to, name);
  writeFileSync(target, readFileSync(join(from, name)));
  const fd = openSync(target, 'r');
  fsyncSync(fd);
  closeSync(fd);
}
