// `npm run access-at -- --class NAME --at TIME`: who could log in to a host class at a past time.

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { accessAt } from '../shared/bundle/history.ts';
import { parseKeyring } from '../shared/bundle/manifest.ts';
import { loadConfig } from '../shared/config.ts';
import { errorMessage } from '../shared/errors.ts';
import { createRuntime } from '../shared/runtime.ts';

const HELP = `Usage: npm run access-at -- --class NAME --at TIME [--keyring FILE] [--json]

Prints who could log in to hosts of the class at TIME (ISO-8601, e.g. 2026-12-01T10:00:00Z): the
people of the newest bundle issued at or before it, with their uid, shell and key fingerprints.
Reads the bundle bucket of the environment's configuration (locally, .local/buckets).

  --keyring FILE  Verify each manifest read against these public keys (PEM).
  --json          Print one JSON object.`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      class: { type: 'string' },
      at: { type: 'string' },
      keyring: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const at = values.at ? new Date(values.at) : undefined;
  if (!values.class || !at || Number.isNaN(at.getTime())) {
    console.error(`--class and a valid --at time are required.\n\n${HELP}`);
    return 2;
  }
  const runtime = createRuntime(loadConfig(process.env));
  const keyring = values.keyring ? parseKeyring(await readFile(values.keyring, 'utf8')) : undefined;
  const answer = await accessAt(runtime.bucket(runtime.config.buckets.bundles), values.class, at, keyring);
  if (values.json) {
    console.log(JSON.stringify(answer, null, 2));
    return 0;
  }
  if (!answer.manifest) {
    console.log(
      `No bundle of host class ${values.class} had been issued by ${answer.at}: nobody could log in through fleet-login.`,
    );
    return 0;
  }
  const { serial, issuedAt, expiresAt } = answer.manifest;
  console.log(
    `Host class ${values.class} at ${answer.at}: bundle serial ${serial}, issued ${issuedAt}, expires ${expiresAt}`,
  );
  if (answer.expired)
    console.log('That bundle had expired by then: agents rejected it and kept the one before.');
  for (const person of answer.people) {
    console.log(
      `  ${person.username} (uid ${person.uidNumber}, shell ${person.shell}): ${person.keyFingerprints.join(', ') || 'no keys'}`,
    );
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`access-at failed: ${errorMessage(error)}`);
    process.exit(1);
  },
);
