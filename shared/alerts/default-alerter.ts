// Chooses the alert channel from the environment: the on-call SNS topic, or the console in local runs.

import { SNSClient } from '@aws-sdk/client-sns';
import { ConfigError } from '../errors.ts';
import type { Alerter } from './alerter.ts';
import { ConsoleAlerter } from './console-alerter.ts';
import { SnsAlerter } from './sns-alerter.ts';

/** An SNS topic ARN: partition, region, 12-digit account and a topic name of up to 256 characters. */
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/**
 * Returns an SnsAlerter for ALERT_TOPIC_ARN. Without the variable, local runs get a ConsoleAlerter;
 * elsewhere it is a ConfigError, because on-call does not read alerts printed to a Lambda log.
 */
export function createAlerter(
  env: Readonly<Record<string, string | undefined>>,
  options: { consoleAllowed: boolean; client?: SNSClient },
): Alerter {
  const topicArn = env.ALERT_TOPIC_ARN?.trim();
  if (topicArn) {
    if (!TOPIC_ARN.test(topicArn)) {
      throw new ConfigError(`ALERT_TOPIC_ARN is not an SNS topic ARN: ${JSON.stringify(topicArn)}`);
    }
    return new SnsAlerter(topicArn, options.client ?? new SNSClient({}));
  }
  if (options.consoleAllowed) return new ConsoleAlerter();
  throw new ConfigError(
    'ALERT_TOPIC_ARN is required outside local runs (for example arn:aws:sns:eu-central-1:123456789012:on-call)',
  );
}
