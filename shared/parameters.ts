// Secrets and rotating values by name: SSM Parameter Store in deployment, a JSON file locally.

import { readFile } from 'node:fs/promises';
import { GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, FleetLoginError } from './errors.ts';

/** How long a value read from SSM is reused, so a rotated secret takes effect without a deploy. */
export const PARAMETER_CACHE_TTL_MS = 5 * 60 * 1000;

/** Reads parameters by name. Implementations decrypt SecureStrings and never log values. */
export interface ParameterReader {
  get(name: string): Promise<string>;
}

/** Reads from SSM Parameter Store with decryption, caching each value for `ttlMs`. */
export class SsmParameterReader implements ParameterReader {
  private readonly cache = new Map<string, { value: string; expiresAt: number }>();

  constructor(
    private readonly client: SSMClient = new SSMClient({}),
    private readonly ttlMs: number = PARAMETER_CACHE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  async get(name: string): Promise<string> {
    const cached = this.cache.get(name);
    if (cached && cached.expiresAt > this.now()) return cached.value;

    let value: string | undefined;
    try {
      const output = await this.client.send(
        new GetParametersCommand({ Names: [name], WithDecryption: true }),
      );
      value = output.Parameters?.[0]?.Value;
    } catch (error) {
      throw new FleetLoginError(`reading SSM parameter ${name} failed`, { cause: error });
    }
    if (value === undefined) throw new ConfigError(`SSM parameter ${name} does not exist`);
    this.cache.set(name, { value, expiresAt: this.now() + this.ttlMs });
    return value;
  }

  /** Forgets cached values, so the next read goes to SSM. */
  clear(): void {
    this.cache.clear();
  }
}

/** Reads a JSON object of name → value from a file, re-reading it on every call (local runs only). */
export class FileParameterReader implements ParameterReader {
  constructor(private readonly path: string) {}

  async get(name: string): Promise<string> {
    let values: Record<string, unknown>;
    try {
      values = JSON.parse(await readFile(this.path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`reading the parameter file ${this.path} failed`, { cause: error });
    }
    const value = values[name];
    if (typeof value !== 'string') throw new ConfigError(`parameter ${name} is missing from ${this.path}`);
    return value;
  }
}
