// Turns off zod's compiled fast path before any schema is built. A sync or status run parses each
// schema about once, so compiling a parser with `new Function` costs more than it saves.
// host/commands.ts imports this module first, because schemas read the setting when they are built.

import { config } from 'zod';

config({ jitless: true });
