// `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run.
// Options: --people N (default 10000), --groups N (default 500), --classes N (default 20).

import { parseArgs } from 'node:util';
import { runPublishAgentBench } from './publish-agent.ts';

const { values } = parseArgs({
  options: {
    people: { type: 'string', default: '10000' },
    groups: { type: 'string', default: '500' },
    classes: { type: 'string', default: '20' },
  },
});

await runPublishAgentBench(Number(values.people), Number(values.groups), Number(values.classes));
