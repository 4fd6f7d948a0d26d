// `npm run publish`: publish every host class by hand, or with --dry-run show what would change.

import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { type ClassPreview, previewPublish, publishAll } from '../shared/control-plane.ts';
import { errorMessage } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { createRuntime } from '../shared/runtime.ts';

const HELP = `Usage: npm run publish -- [--dry-run] [--confirm-shrink] [--allow-empty]

Publishes every host class's bundle from one directory snapshot, with the configuration of the
environment (the same variables as the Lambdas; without them, the local stack's .local folder).

  --dry-run         Print, per host class, who would gain or lose access, whose keys would change
                    and which sudo rules would change, and whether a guard would refuse; write nothing.
  --confirm-shrink  Publish even if a class loses more than PUBLISH_SHRINK_LIMIT_PERCENT of its people.
  --allow-empty     Publish even if the directory snapshot holds nobody.

Exit codes: 0 published (or nothing to change), 1 failed, 2 usage error, 3 refused by a guard.`;

async function main(argv: string[]): Promise<number> {
  let values: { 'dry-run'?: boolean; 'confirm-shrink'?: boolean; 'allow-empty'?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'dry-run': { type: 'boolean' },
        'confirm-shrink': { type: 'boolean' },
        'allow-empty': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${errorMessage(error)}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }

  const runtime = createRuntime(loadConfig(process.env));
  const options = {
    confirmShrink: values['confirm-shrink'] === true,
    allowEmpty: values['allow-empty'] === true,
  };
  if (values['dry-run']) {
    const preview = await previewPublish(runtime, options);
    for (const hostClass of preview.classes) console.log(describe(hostClass));
    if (preview.refusal) console.log(`\nA publish now would be refused: ${preview.refusal}`);
    return preview.refusal ? 3 : 0;
  }
  const results = await publishAll(runtime, createLogger('publish'), options);
  for (const result of results) {
    console.log(
      `${result.hostClass}: ${result.outcome}, serial ${result.serial}, ${result.people} people, ${result.bytes} bytes`,
    );
  }
  return 0;
}

function describe({ hostClass, people, diff }: ClassPreview): string {
  const lines = [`${hostClass}: ${people} people`];
  const list = (label: string, items: string[]) => {
    if (items.length > 0) lines.push(`  ${label} (${items.length}): ${items.join(', ')}`);
  };
  list('would gain access', diff.added);
  list('would lose access', diff.removed);
  list('keys would change', diff.keysChanged);
  list('sudo rules added', diff.sudoAdded);
  list('sudo rules removed', diff.sudoRemoved);
  if (lines.length === 1) lines.push('  no change');
  return lines.join('\n');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`publish failed: ${errorMessage(error)}`);
    process.exit(error instanceof Error && error.name === 'PublishRefusedError' ? 3 : 1);
  },
);
