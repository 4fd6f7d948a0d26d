// The SSM Parameter Store layout of certificates, keys, the trust bundle and the active pointer.

import {
  GetParametersCommand,
  type Parameter,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { CertificateStoreError } from './errors.ts';
import type { CertificatePair } from './issue.ts';
import { formatPkiState, type PkiState, parsePkiState, type VersionRef } from './state.ts';

/** Every SSM action this module and the TLS material readers call. The IAM roles must grant exactly these. */
export const SSM_ACTIONS = ['ssm:GetParameters', 'ssm:PutParameter'] as const;

/** GetParameters accepts at most 10 names per call. */
const GET_PARAMETERS_MAX_NAMES = 10;

/** Storage slot of a certificate and its key: the root CA, the optional intermediate, or a leaf. */
export type CertificateSlot = 'ca' | 'intermediate' | 'client' | 'server';

export interface PkiParameterNames {
  /** The active pointer (JSON), the only parameter a consumer reads without a version. */
  active: string;
  trustBundle: string;
  cert(slot: CertificateSlot): string;
  key(slot: CertificateSlot): string;
}

/**
 * Returns the parameter names under `prefix`. Certificates, keys and the bundle are written as new versions of
 * fixed names, and the pointer names those versions, so a reader never mixes a new certificate with an old key.
 */
export function pkiParameterNames(prefix: string): PkiParameterNames {
  return {
    active: `${prefix}/active`,
    trustBundle: `${prefix}/trust-bundle`,
    cert: (slot) => `${prefix}/${slot}/cert`,
    key: (slot) => `${prefix}/${slot}/key`,
  };
}

/** Returns the GetParameters selector for one version of a parameter. */
export function versionSelector(name: string, version: number): string {
  return `${name}:${version}`;
}

/** Reads and writes the PKI parameters: SecureString for keys, String for certificates and the pointer. */
export class SsmCertificateStore {
  readonly names: PkiParameterNames;

  constructor(
    private readonly client: SSMClient,
    prefix: string,
    private readonly kmsKeyId?: string,
  ) {
    this.names = pkiParameterNames(prefix);
  }

  /** Returns the active pointer, or undefined when the prefix is empty. */
  async readState(): Promise<PkiState | undefined> {
    const found = await this.getValues([this.names.active]);
    const text = found.get(this.names.active);
    return text === undefined ? undefined : parsePkiState(text, this.names.active);
  }

  /** Replaces the active pointer, the one write that makes stored versions the ones in use. */
  async writeState(state: PkiState): Promise<void> {
    await this.put(this.names.active, formatPkiState(state), 'String');
  }

  /** Stores a certificate and its key as new versions. The key goes first, so a stored certificate has its key. */
  async putPair(slot: CertificateSlot, pair: CertificatePair): Promise<VersionRef> {
    const key = await this.put(this.names.key(slot), pair.keyPem, 'SecureString');
    const cert = await this.put(this.names.cert(slot), pair.certPem, 'String');
    return { cert, key };
  }

  async putTrustBundle(pem: string): Promise<number> {
    return this.put(this.names.trustBundle, pem, 'String');
  }

  async readTrustBundle(version: number): Promise<string> {
    return this.getVersioned(this.names.trustBundle, version);
  }

  async readCertificate(slot: CertificateSlot, version: number): Promise<string> {
    return this.getVersioned(this.names.cert(slot), version);
  }

  /** Reads a certificate and its decrypted key, for signing with a CA. */
  async readPair(slot: CertificateSlot, ref: VersionRef): Promise<CertificatePair> {
    const certName = versionSelector(this.names.cert(slot), ref.cert);
    const keyName = versionSelector(this.names.key(slot), ref.key);
    const found = await this.getValues([certName, keyName]);
    return { certPem: requireValue(found, certName), keyPem: requireValue(found, keyName) };
  }

  private async getVersioned(name: string, version: number): Promise<string> {
    const selector = versionSelector(name, version);
    return requireValue(await this.getValues([selector]), selector);
  }

  /** Returns the values found, keyed by the requested name or selector. Missing ones are left out. */
  private async getValues(requested: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (let start = 0; start < requested.length; start += GET_PARAMETERS_MAX_NAMES) {
      const names = requested.slice(start, start + GET_PARAMETERS_MAX_NAMES);
      let parameters: Parameter[];
      try {
        const output = await this.client.send(
          new GetParametersCommand({ Names: names, WithDecryption: true }),
        );
        parameters = output.Parameters ?? [];
      } catch (error) {
        throw new CertificateStoreError(`reading SSM parameters ${names.join(', ')} failed`, {
          cause: error,
        });
      }
      for (const name of names) {
        const value = parameters.find((parameter) => matchesSelector(parameter, name))?.Value;
        if (value !== undefined) found.set(name, value);
      }
    }
    return found;
  }

  private async put(name: string, value: string, type: 'String' | 'SecureString'): Promise<number> {
    const keyId = type === 'SecureString' ? this.kmsKeyId : undefined;
    let version: number | undefined;
    try {
      const output = await this.client.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: type,
          Overwrite: true,
          Tier: 'Standard',
          KeyId: keyId,
        }),
      );
      version = output.Version;
    } catch (error) {
      throw new CertificateStoreError(`writing SSM parameter ${name} failed`, { cause: error });
    }
    if (version === undefined)
      throw new CertificateStoreError(`SSM returned no version for parameter ${name}`);
    return version;
  }
}

/** Matches a returned parameter to a plain name or a `name:version` selector by name and version. */
function matchesSelector(parameter: Parameter, requested: string): boolean {
  const match = /^(.*):(\d+)$/.exec(requested);
  if (!match) return parameter.Name === requested;
  return parameter.Name === match[1] && parameter.Version === Number(match[2]);
}

function requireValue(found: Map<string, string>, selector: string): string {
  const value = found.get(selector);
  if (value === undefined) throw new CertificateStoreError(`SSM parameter ${selector} does not exist`);
  return value;
}
