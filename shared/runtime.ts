// Builds the clients an entry point needs from the configuration, once per cold start.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alerter } from './alerts/alerter.ts';
import { createAlerter } from './alerts/default-alerter.ts';
import { keyIdOf, type SigningKey } from './bundle/manifest.ts';
import type { Config } from './config.ts';
import { EmbeddedDirectoryStore } from './directory/embedded-store.ts';
import { ldapStoreOptions } from './directory/ldap-config.ts';
import { LdapStore } from './directory/ldap-store.ts';
import type { DirectoryStore } from './directory/model.ts';
import { ConfigError } from './errors.ts';
import { FileParameterReader, type ParameterReader, SsmParameterReader } from './parameters.ts';
import { type Policy, parsePolicy } from './policy/policy.ts';
import { HrClient } from './sources/hr-api.ts';
import { OktaClient } from './sources/okta-api.ts';
import { LocalFolderStore } from './storage/local-store.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { S3ObjectStore } from './storage/s3-store.ts';

export interface Runtime {
  config: Config;
  parameters: ParameterReader;
  /** The store of one bucket: a folder under LOCAL_STORE_DIR locally, the S3 bucket in deployment. */
  bucket(name: string): ObjectStore;
  /** Opens the directory; the caller closes it. */
  openDirectory(): Promise<DirectoryStore>;
  okta(): Promise<OktaClient>;
  /** The HR API client, or undefined when HR_API_URL is unset. */
  hr(): Promise<HrClient | undefined>;
  policy(): Promise<Policy>;
  signingKey(): Promise<SigningKey>;
  /** The on-call channel: SNS when ALERT_TOPIC_ARN is set, the console in local runs. */
  alerter(): Alerter;
}

export interface RuntimeOverrides {
  parameters?: ParameterReader;
  bucket?: (name: string) => ObjectStore;
  openDirectory?: () => Promise<DirectoryStore>;
  alerter?: Alerter;
}

/** Creates the runtime; overrides let tests and the local control plane swap any client. */
export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const parameters =
    overrides.parameters ??
    (config.parameters.kind === 'file'
      ? new FileParameterReader(config.parameters.path)
      : new SsmParameterReader());
  const buckets = new Map<string, ObjectStore>();
  let alerter = overrides.alerter;

  return {
    config,
    parameters,
    bucket(name) {
      let store = buckets.get(name);
      if (!store) {
        store = overrides.bucket?.(name) ?? defaultBucket(config, name);
        buckets.set(name, store);
      }
      return store;
    },
    openDirectory: overrides.openDirectory ?? (() => openDefaultDirectory(config, parameters)),
    async okta() {
      if (!config.okta.orgUrl)
        throw new ConfigError('OKTA_ORG_URL is required (for example https://example.okta.com)');
      const orgUrl = config.okta.orgUrl;
      const apiToken = await parameters.get(config.okta.apiTokenParameter);
      return new OktaClient({ orgUrl, apiToken });
    },
    async hr() {
      if (!config.hr.apiUrl) return undefined;
      const apiKey = await parameters.get(config.hr.apiKeyParameter);
      return new HrClient({ apiUrl: config.hr.apiUrl, apiKey, groupField: config.hr.groupField });
    },
    async policy() {
      const text = await readFile(config.policyFile, 'utf8').catch((error: unknown) => {
        throw new ConfigError(`reading the policy file ${config.policyFile} failed`, { cause: error });
      });
      return parsePolicy(text, config.policyFile);
    },
    alerter() {
      alerter ??= createAlerter(
        { ALERT_TOPIC_ARN: config.alertTopicArn },
        { consoleAllowed: config.objectStore.kind === 'local' },
      );
      return alerter;
    },
    async signingKey() {
      return signingKeyFromPem(await parameters.get(config.signingKeyParameter), config.signingKeyParameter);
    },
  };
}

/** Reads an Ed25519 private key in PKCS#8 PEM; the key id is derived from its public half. */
export function signingKeyFromPem(pem: string, source: string): SigningKey {
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new ConfigError(`${source} does not hold a PEM private key`, { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519')
    throw new ConfigError(`${source} holds a key that is not Ed25519`);
  return { keyId: keyIdOf(createPublicKey(privateKey)), privateKey };
}

function defaultBucket(config: Config, name: string): ObjectStore {
  if (config.objectStore.kind === 'local') return new LocalFolderStore(join(config.objectStore.root, name));
  const { region, endpoint } = config.objectStore;
  // An endpoint is an S3-compatible server for tests, which is addressed by path, not by bucket host name.
  return new S3ObjectStore({
    bucket: name,
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
  });
}

async function openDefaultDirectory(config: Config, parameters: ParameterReader): Promise<DirectoryStore> {
  if (config.directory.kind === 'embedded') {
    return new EmbeddedDirectoryStore(config.directory.file, {
      firstUidNumber: config.firstUidNumber,
      firstGidNumber: config.firstGidNumber,
    });
  }
  return new LdapStore(await ldapStoreOptions(config.directory.settings, parameters));
}
