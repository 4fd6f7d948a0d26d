// Alerts published to an SNS topic, which fans out to on-call's email, chat and paging subscriptions.

import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { type Alert, AlertError, type Alerter } from './alerter.ts';

/** Maximum subject length SNS accepts: "less than 100 characters", per the PublishInput docs of @aws-sdk/client-sns 3.x. */
export const SNS_MAX_SUBJECT_CHARACTERS = 99;

/**
 * Maximum message body sent, in UTF-8 bytes. SNS accepts at most 256 KiB for the message and its
 * attributes together, so 1 KiB is left for the attributes.
 */
export const SNS_MAX_MESSAGE_BYTES = 255 * 1024;

const TRUNCATION_MARK = '\n[message truncated to fit SNS]';

/** Publishes each alert to one topic, with the severity as the `severity` message attribute for filter policies. */
export class SnsAlerter implements Alerter {
  constructor(
    readonly topicArn: string,
    private readonly client: SNSClient = new SNSClient({}),
  ) {}

  async send(alert: Alert): Promise<void> {
    const command = new PublishCommand({
      TopicArn: this.topicArn,
      Subject: snsSubject(alert.subject),
      Message: snsMessage(alert.message),
      MessageAttributes: { severity: { DataType: 'String', StringValue: alert.severity } },
    });
    try {
      await this.client.send(command);
    } catch (error) {
      throw new AlertError(`publishing an alert to SNS topic ${this.topicArn} failed`, { cause: error });
    }
  }
}

/** Makes a subject SNS accepts: no line breaks or control characters, and under 100 characters. */
export function snsSubject(subject: string): string {
  const oneLine = subject
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const text = oneLine === '' ? 'fleet-login alert' : oneLine;
  if (text.length <= SNS_MAX_SUBJECT_CHARACTERS) return text;
  return `${text.slice(0, SNS_MAX_SUBJECT_CHARACTERS - 3).trimEnd()}...`;
}

/** Cuts a message that is too long for SNS and marks the cut at the end. Replaces an empty message, which SNS rejects. */
export function snsMessage(message: string): string {
  if (message === '') return '(no message)';
  if (Buffer.byteLength(message, 'utf8') <= SNS_MAX_MESSAGE_BYTES) return message;
  const room = SNS_MAX_MESSAGE_BYTES - Buffer.byteLength(TRUNCATION_MARK, 'utf8');
  // A cut inside a multi-byte character decodes to U+FFFD, which is dropped.
  const head = Buffer.from(message, 'utf8')
    .subarray(0, room)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${head}${TRUNCATION_MARK}`;
}
