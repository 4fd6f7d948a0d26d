// Preloaded with `node --import` into a measured process: prints its peak RSS on exit, for the benchmarks.
import { writeSync } from 'node:fs';

process.on('exit', () => {
  writeSync(2, `\nfleet-login-bench maxRssKiB=${process.resourceUsage().maxRSS}\n`);
});
