// Bundles the host agent into one executable ES module, so hosts need Node.js and nothing from npm.
//
// sshd runs `authorized-keys` twice per login, and parsing the ~1.1 MB (minified) that zod, the
// sync code and the AWS SDK add would cost it about 100 ms of start-up on a 2-core test machine.
// So the sync and status commands (host/commands.ts) are bundled on their own and embedded as a
// base64 data: URL that host/cli.ts imports only when one of them runs; V8 skips over a string
// literal far faster than it pre-parses code.

import { chmod } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const AGENT_ENTRY = fileURLToPath(new URL('../host/agent.ts', import.meta.url));
export const COMMANDS_ENTRY = fileURLToPath(new URL('../host/commands.ts', import.meta.url));
export const AGENT_BUNDLE = fileURLToPath(new URL('../dist/fleet-login-agent.mjs', import.meta.url));

/** Name that stack traces show for code from the embedded module, instead of the whole data: URL. */
const EMBEDDED_SOURCE_URL = 'fleet-login-agent-commands.mjs';

const COMMON = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  logLevel: 'warning',
} as const;

/** Writes the bundle to `outfile` with mode 0755 and returns its path. */
export async function buildAgent(outfile: string = AGENT_BUNDLE): Promise<string> {
  const commands = await build({
    ...COMMON,
    entryPoints: [COMMANDS_ENTRY],
    write: false,
    // Parsing is most of the start-up cost of sync and status; minifying cut it by about a third
    // here. keepNames keeps class and function names, which error names and stack traces use.
    minify: true,
    keepNames: true,
    // The AWS SDK is CommonJS and requires Node's built-in modules; esbuild's ESM output needs a
    // `require` for that. A data: URL module has no file path, so it is made relative to `/`.
    banner: {
      js: "import { createRequire as createRequireOfAgent } from 'node:module';\nconst require = createRequireOfAgent('/');",
    },
  });
  const code = `${commands.outputFiles[0]?.text ?? ''}\n//# sourceURL=${EMBEDDED_SOURCE_URL}\n`;
  const dataUrl = `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;

  await build({
    ...COMMON,
    entryPoints: [AGENT_ENTRY],
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    plugins: [embedCommands(dataUrl)],
  });
  await chmod(outfile, 0o755);
  return outfile;
}

/** Replaces host/cli.ts's `import('./commands.ts')` with a module that imports the data: URL. */
function embedCommands(dataUrl: string): Plugin {
  return {
    name: 'embed-commands',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\.\/commands\.ts$/ }, () => ({
        path: 'commands',
        namespace: 'embedded',
      }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'embedded' }, () => ({
        loader: 'js',
        // The URL sits in a variable so esbuild leaves the import() to Node instead of bundling it.
        contents: `const url = ${JSON.stringify(dataUrl)};
export async function runCommand(...args) {
  const module = await import(url);
  return module.runCommand(...args);
}`,
      }));
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = await buildAgent();
  console.log(`built ${path}`);
}
