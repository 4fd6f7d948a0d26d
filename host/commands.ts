// The sync and status commands with their config loading, loaded lazily by the CLI.

import './zod-jitless.ts';
import { BundleRejectedError, ConfigError, errorMessage } from '../shared/errors.ts';
import { DEFAULT_CONFIG_PATH, loadConfig } from './config.ts';
import { type CliIo, EXIT } from './exit-codes.ts';
import type { InstallStep } from './install.ts';
import { LockHeldError } from './lock.ts';
import { createJsonLogger, type Logger } from './log.ts';
import { formatStatus, readStatus } from './status.ts';
import { openBundleStore } from './store.ts';
import { runSync } from './sync.ts';

/**
 * Test-only variable: the name of an install step (one of INSTALL_STEPS) at which the agent kills
 * itself with SIGKILL, so that tests can prove crash safety on a real process. Unset or empty, it
 * has no effect.
 */
export const KILL_AT_STEP_VARIABLE = 'FLEET_LOGIN_AGENT_TEST_KILL_AT_STEP';

export interface CommandOptions {
  configPath?: string;
  root?: string;
  json: boolean;
}

export async function runCommand(
  command: 'sync' | 'status',
  options: CommandOptions,
  io: CliIo,
): Promise<number> {
  const log = createJsonLogger(io.stderr, io.now);
  try {
    const config = await loadConfig(options.configPath ?? DEFAULT_CONFIG_PATH, { root: options.root });
    if (command === 'status') {
      const report = await readStatus(config, io.now?.());
      io.stdout(options.json ? `${JSON.stringify(report)}\n` : formatStatus(report));
      return report.stale ? EXIT.stale : EXIT.ok;
    }
    const { store, close } = await openBundleStore(config.source);
    try {
      const outcome = await runSync(config, {
        store,
        log,
        now: io.now,
        visudoPath: io.visudoPath,
        onInstallStep: io.onInstallStep ?? killAtStepFromEnvironment(),
      });
      log.info('sync finished', { phase: 'summary', outcome: outcome.kind });
      return EXIT.ok;
    } finally {
      close();
    }
  } catch (error) {
    return exitCodeFor(error, log);
  }
}

/** Logs the error once and returns its exit code. */
function exitCodeFor(error: unknown, log: Logger): number {
  if (error instanceof BundleRejectedError) {
    log.error('sync failed', {
      phase: 'summary',
      check: error.check,
      error: errorMessage(error),
      cause: causeOf(error),
    });
    if (error.check === 'fetch') return EXIT.fetchFailed;
    if (error.check === 'install') return EXIT.installFailed;
    return EXIT.rejected;
  }
  if (error instanceof ConfigError) {
    log.error('configuration invalid', { phase: 'config', error: errorMessage(error) });
    return EXIT.usage;
  }
  if (error instanceof LockHeldError) {
    log.error('another sync is running', { phase: 'lock', error: errorMessage(error) });
    return EXIT.locked;
  }
  log.error('unexpected error', { error: errorMessage(error), stack: (error as Error).stack });
  return EXIT.unexpected;
}

function killAtStepFromEnvironment(
  env: NodeJS.ProcessEnv = process.env,
): ((step: InstallStep) => void) | undefined {
  const killAt = env[KILL_AT_STEP_VARIABLE];
  if (!killAt) return undefined;
  return (step) => {
    if (step === killAt) process.kill(process.pid, 'SIGKILL');
  };
}

function causeOf(error: Error): string | undefined {
  return error.cause === undefined ? undefined : errorMessage(error.cause);
}
