// Bundles the host agent into one executable ES module, so hosts need Node.js and nothing from npm.
//
// sshd runs `authorized-keys` twice per login, and parsing the ~0.5 MB (minified) that zod and the
// sync code add would slow every login. So the sync and status commands (host/commands.ts) are
// bundled on their own as CommonJS and embedded as a string literal, which V8 skips over far faster
// than it pre-parses code. host/embedded-module.ts compiles that string only when sync or status
// runs, with a V8 code cache under systemd's state directory.

import { createHash } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export const AGENT_ENTRY = fileURLToPath(new URL('../host/agent.ts', import.meta.url));
export const COMMANDS_ENTRY = fileURLToPath(new URL('../host/commands.ts', import.meta.url));
export const AGENT_BUNDLE = fileURLToPath(new URL('../dist/fleet-login-agent.mjs', import.meta.url));

/** Name that stack traces show for code from the embedded module. */
const EMBEDDED_FILENAME = 'fleet-login-agent-commands.cjs';
const EMBEDDED_LOADER = fileURLToPath(new URL('../host/embedded-module.ts', import.meta.url));

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
    // CommonJS, because node:vm compiles a script (with a code cache) but not a module on Node.js 20.
    format: 'cjs',
    // node:vm runs the code without a module loader, so import() of a built-in module such as
    // node:https must become require().
    supported: { 'dynamic-import': false },
    write: false,
    // Parsing is most of the start-up cost of sync and status; minifying cut it by about a third
    // here. keepNames keeps class and function names, which error names and stack traces use.
    minify: true,
    keepNames: true,
  });
  const code = commands.outputFiles[0]?.text ?? '';

  await build({
    ...COMMON,
    entryPoints: [AGENT_ENTRY],
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    plugins: [embedCommands(code)],
  });
  await chmod(outfile, 0o755);
  return outfile;
}

/** Replaces host/cli.ts's `import('./commands.ts')` with a module that runs the embedded code. */
function embedCommands(code: string): Plugin {
  const codeHash = createHash('sha256').update(code).digest('hex');
  return {
    name: 'embed-commands',
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /^\.\/commands\.ts$/ }, () => ({
        path: 'commands',
        namespace: 'embedded',
      }));
      pluginBuild.onLoad({ filter: /.*/, namespace: 'embedded' }, () => ({
        loader: 'js',
        resolveDir: dirname(EMBEDDED_LOADER),
        contents: `import { loadEmbeddedModule } from ${JSON.stringify(EMBEDDED_LOADER)};
const code = ${JSON.stringify(code)};
export async function runCommand(...args) {
  const commands = loadEmbeddedModule(code, ${JSON.stringify(codeHash)}, ${JSON.stringify(EMBEDDED_FILENAME)});
  const exitCode = await commands.exports.runCommand(...args);
  commands.saveCodeCache();
  return exitCode;
}`,
      }));
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const path = await buildAgent();
  console.log(`built ${path}`);
}
