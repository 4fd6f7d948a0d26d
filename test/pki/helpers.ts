// Test helpers for shared/pki: an in-memory SSM behind aws-sdk-client-mock, a settable clock, a config.

import {
  GetParametersCommand,
  type GetParametersCommandInput,
  type GetParametersCommandOutput,
  type Parameter,
  PutParameterCommand,
  type PutParameterCommandInput,
  type PutParameterCommandOutput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import type { Alert } from '../../shared/alerts/alerter.ts';
import { loadPkiConfig, type PkiConfig } from '../../shared/pki/config.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;

interface StoredParameter {
  type: string;
  /** Index 0 is version 1. */
  versions: string[];
}

/** Thrown by the fake to stand for a process that died in the middle of a run. */
export class SimulatedCrash extends Error {}

/** SSM Parameter Store as a Map of name → versions, served through aws-sdk-client-mock. */
export class FakeSsm {
  readonly client = new SSMClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  readonly parameters = new Map<string, StoredParameter>();
  /** Every PutParameter input, in order. */
  readonly puts: PutParameterCommandInput[] = [];
  /** The IAM action of every call, such as ssm:GetParameters. */
  readonly actions = new Set<string>();
  /** When set, the PutParameter call with this 1-based number throws SimulatedCrash and stores nothing. */
  crashAtPut: number | undefined;
  /** When set, the PutParameter call that writes `name` for the `count`-th time stores it, then throws SimulatedCrash. */
  crashAfterWrite: { name: string; count: number } | undefined;
  private readonly mock = mockClient(this.client);

  constructor() {
    this.mock
      .on(GetParametersCommand)
      .callsFake((input: GetParametersCommandInput) => this.getParameters(input));
    this.mock
      .on(PutParameterCommand)
      .callsFake((input: PutParameterCommandInput) => this.putParameter(input));
  }

  /** Returns the IAM actions of calls the fake did not serve (none is expected). */
  unhandledActions(): string[] {
    return this.mock
      .calls()
      .map((call) => (call.args[0] as object).constructor.name)
      .filter((name) => name !== 'GetParametersCommand' && name !== 'PutParameterCommand');
  }

  restore(): void {
    this.mock.restore();
  }

  latest(name: string): string | undefined {
    return this.parameters.get(name)?.versions.at(-1);
  }

  private getParameters(input: GetParametersCommandInput): GetParametersCommandOutput {
    this.actions.add('ssm:GetParameters');
    const parameters: Parameter[] = [];
    const invalid: string[] = [];
    for (const requested of input.Names ?? []) {
      const match = /^(.*):(\d+)$/.exec(requested);
      const name = match?.[1] ?? requested;
      const stored = this.parameters.get(name);
      const version = match ? Number(match[2]) : (stored?.versions.length ?? 0);
      const value = stored?.versions[version - 1];
      if (stored === undefined || value === undefined) {
        invalid.push(requested);
        continue;
      }
      const selector = match ? `:${version}` : undefined;
      parameters.push({
        Name: name,
        Type: stored.type as Parameter['Type'],
        Value: value,
        Version: version,
        Selector: selector,
      });
    }
    return { Parameters: parameters, InvalidParameters: invalid, $metadata: {} };
  }

  private putParameter(input: PutParameterCommandInput): PutParameterCommandOutput {
    this.actions.add('ssm:PutParameter');
    if (this.puts.length + 1 === this.crashAtPut) {
      this.crashAtPut = undefined;
      throw new SimulatedCrash(`simulated crash at PutParameter ${input.Name}`);
    }
    this.puts.push(input);
    const name = input.Name ?? '';
    const stored = this.parameters.get(name);
    if (stored && !input.Overwrite) throw new Error(`ParameterAlreadyExists: ${name}`);
    const entry = stored ?? { type: input.Type ?? 'String', versions: [] };
    entry.type = input.Type ?? entry.type;
    entry.versions.push(input.Value ?? '');
    this.parameters.set(name, entry);
    const writes = this.puts.filter((put) => put.Name === name).length;
    if (this.crashAfterWrite?.name === name && this.crashAfterWrite.count === writes) {
      this.crashAfterWrite = undefined;
      throw new SimulatedCrash(`simulated crash after PutParameter ${name}`);
    }
    return { Version: entry.versions.length, Tier: 'Standard', $metadata: {} };
  }
}

/** A clock tests move forward by hand. */
export class TestClock {
  constructor(private current: Date = new Date()) {}

  now = (): Date => new Date(this.current);

  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/**
 * Returns a config for tests: a server on 127.0.0.1 and localhost, with `env` overriding any variable.
 * `trustOverlapMs` replaces the overlap after the checks, because loadPkiConfig requires at least an
 * hour and the rotation tests step through a CA rotation in minutes or in one run.
 */
export function testConfig(env: Record<string, string> = {}, trustOverlapMs?: number): PkiConfig {
  const config = loadPkiConfig({
    PKI_PARAMETER_PREFIX: '/test/pki',
    PKI_SERVER_DNS_NAMES: 'localhost',
    PKI_SERVER_IP_ADDRESSES: '127.0.0.1',
    ...env,
  });
  return trustOverlapMs === undefined ? config : { ...config, trustOverlapMs };
}

/** Collects alerts instead of sending them. */
export function collectAlerts(): { alerts: Alert[]; send: (alert: Alert) => Promise<void> } {
  const alerts: Alert[] = [];
  return { alerts, send: async (alert) => void alerts.push(alert) };
}
