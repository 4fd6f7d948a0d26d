// Builds what a rotation run needs from the environment: settings, the SSM store and the alert channel.

import { SSMClient } from '@aws-sdk/client-ssm';
import type { Alerter } from '../alerts/alerter.ts';
import { ConsoleAlerter } from '../alerts/console-alerter.ts';
import { SnsAlerter } from '../alerts/sns-alerter.ts';
import { ConfigError } from '../errors.ts';
import { loadPkiConfig, type PkiConfig } from './config.ts';
import { SsmCertificateStore } from './store.ts';

export interface RotationSetup {
  config: PkiConfig;
  store: SsmCertificateStore;
  alerter: Alerter;
}

export interface RotationSetupOptions {
  ssm?: SSMClient;
  /** Whether alerts go to stderr when ALERT_TOPIC_ARN is unset (the CLI). The Lambda requires the topic. */
  allowConsoleAlerts?: boolean;
}

/** Reads PKI_* and ALERT_TOPIC_ARN and builds the store and alerter. Throws ConfigError naming the variable. */
export function createRotationSetup(
  env: NodeJS.ProcessEnv = process.env,
  options: RotationSetupOptions = {},
): RotationSetup {
  const config = loadPkiConfig(env);
  const store = new SsmCertificateStore(options.ssm ?? new SSMClient({}), config.prefix, config.kmsKeyId);
  const topicArn = env.ALERT_TOPIC_ARN?.trim();
  if (topicArn) return { config, store, alerter: new SnsAlerter(topicArn) };
  if (!options.allowConsoleAlerts) throw new ConfigError('ALERT_TOPIC_ARN is missing');
  return { config, store, alerter: new ConsoleAlerter((text) => process.stderr.write(text)) };
}
