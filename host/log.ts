// One JSON line per event on stderr, so the systemd journal and tests can parse the agent's phases.

export type LogLevel = 'info' | 'warn' | 'error';

/** Structured logger: constant messages, values in fields, never a secret or a key's body. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger that writes each entry as one JSON line through `write`. */
export function createJsonLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
  now: () => Date = () => new Date(),
): Logger {
  const emit = (level: LogLevel, message: string, fields: Record<string, unknown> = {}) => {
    write(`${JSON.stringify({ time: now().toISOString(), level, message, ...fields })}\n`);
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}
