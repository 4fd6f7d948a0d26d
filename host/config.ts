// The agent's configuration file (JSON), validated with zod; errors name the file and the field.

import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../shared/errors.ts';

export const DEFAULT_CONFIG_PATH = '/etc/fleet-login/agent.json';
export const DEFAULT_KEYRING_PATH = '/etc/fleet-login/keyring.pem';

/**
 * Maximum age of the installed bundle before `status` reports it stale: one day. The publisher
 * signs an unchanged bundle again, which resets its age, once a quarter of its lifetime has passed
 * (every 18 h with the default 72 h lifetime). The host fetches it up to POLL_INTERVAL_SECONDS
 * later. So the limit must exceed lifetime/4 plus the poll interval, or healthy hosts report
 * stale. The 6 h left over is an estimate of room for a control-plane outage over a night, so set
 * it per fleet, and raise it for a class whose lifetime exceeds 96 h (a quarter of that is 24 h).
 */
export const DEFAULT_MAX_STALENESS_SECONDS = 24 * 60 * 60;

/** How often fleet-login-agent.timer runs a sync (OnCalendar=minutely), for the staleness margin. */
export const POLL_INTERVAL_SECONDS = 60;

const absolutePath = z.string().refine(isAbsolute, 'must be an absolute path');

const sourceSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('folder'), path: absolutePath }).strict(),
  z
    .object({
      type: z.literal('s3'),
      bucket: z.string().min(1),
      region: z.string().min(1),
      /** An S3-compatible or VPC endpoint URL such as `https://s3.eu-west-1.amazonaws.com`; default: the region's. */
      endpoint: z.url({ protocol: /^https?$/ }).optional(),
      /** Puts the bucket in the URL path, which endpoints addressed by IP address need. */
      forcePathStyle: z.boolean().optional(),
    })
    .strict(),
]);

const configSchema = z
  .object({
    hostClass: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a host class name such as general'),
    source: sourceSchema,
    keyringFile: absolutePath.default(DEFAULT_KEYRING_PATH),
    root: absolutePath.default('/'),
    maxStalenessSeconds: z.number().int().positive().default(DEFAULT_MAX_STALENESS_SECONDS),
  })
  .strict();

export type AgentConfig = z.infer<typeof configSchema>;
export type BundleSource = AgentConfig['source'];

/** Values from the command line that win over the file. */
export interface ConfigOverrides {
  root?: string;
}

/** Reads and validates the config file. Throws ConfigError naming the file and the first bad field. */
export async function loadConfig(path: string, overrides: ConfigOverrides = {}): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`reading the agent config ${path} failed; pass --config FILE`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`the agent config ${path} is not valid JSON`, { cause: error });
  }
  return parseConfig(json, path, overrides);
}

/** Validates a parsed config object; `origin` names where it came from in error messages. */
export function parseConfig(json: unknown, origin: string, overrides: ConfigOverrides = {}): AgentConfig {
  const result = configSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    throw new ConfigError(`the agent config ${origin} is invalid at ${field}: ${issue?.message}`);
  }
  const config = result.data;
  if (overrides.root !== undefined) {
    if (!isAbsolute(overrides.root))
      throw new ConfigError(`--root must be an absolute path, not ${overrides.root}`);
    config.root = overrides.root;
  }
  return config;
}
