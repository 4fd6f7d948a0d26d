// Entry point of fleet-login-agent; scripts/build-agent.ts bundles it into dist/fleet-login-agent.mjs.

import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2));
