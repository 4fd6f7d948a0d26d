import { SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlertError } from '../../shared/alerts/alerter.ts';
import { ConsoleAlerter } from '../../shared/alerts/console-alerter.ts';
import { createAlerter } from '../../shared/alerts/default-alerter.ts';
import {
  SNS_MAX_MESSAGE_BYTES,
  SNS_MAX_SUBJECT_CHARACTERS,
  SnsAlerter,
  snsMessage,
  snsSubject,
} from '../../shared/alerts/sns-alerter.ts';
import { ConfigError } from '../../shared/errors.ts';
import {
  closedLoopbackPort,
  createSubscribedQueue,
  drainQueue,
  FAUXQS_REGION,
  type LoopbackFauxqs,
  startLoopbackFauxqs,
} from '../harness/fauxqs.ts';

describe('SnsAlerter', () => {
  let fauxqs: LoopbackFauxqs;
  let topicArn: string;
  let queueUrl: string;

  beforeAll(async () => {
    fauxqs = await startLoopbackFauxqs();
    ({ topicArn, queueUrl } = await createSubscribedQueue(fauxqs, 'alerts'));
  });

  afterAll(async () => {
    await fauxqs?.stop();
  });

  beforeEach(async () => {
    await drainQueue(fauxqs, queueUrl, 0);
  });

  it('publishes subject, message and severity to the topic', async () => {
    const alerter = new SnsAlerter(topicArn, fauxqs.sns);

    await alerter.send({
      subject: 'Certificate renewal failed',
      message: 'line one\nline two\n',
      severity: 'warning',
    });
    const [received, ...rest] = await drainQueue(fauxqs, queueUrl);

    expect(rest).toEqual([]);
    const notification = JSON.parse(received?.Body ?? '{}');
    expect(notification.TopicArn).toBe(topicArn);
    expect(notification.Subject).toBe('Certificate renewal failed');
    expect(notification.Message).toBe('line one\nline two\n');
    expect(notification.MessageAttributes.severity).toEqual({ Type: 'String', Value: 'warning' });
  });

  it('fits a long subject with line breaks into what SNS accepts', async () => {
    const alerter = new SnsAlerter(topicArn, fauxqs.sns);
    const subject = `Emergency key added:\r\n${'x'.repeat(200)}`;

    await alerter.send({ subject, message: 'body', severity: 'critical' });
    const [received] = await drainQueue(fauxqs, queueUrl);

    const delivered = JSON.parse(received?.Body ?? '{}').Subject as string;
    expect(delivered.length).toBeLessThanOrEqual(SNS_MAX_SUBJECT_CHARACTERS);
    expect(delivered.startsWith('Emergency key added: xxx')).toBe(true);
    expect(delivered.endsWith('...')).toBe(true);
  });

  it('raises AlertError naming the topic when SNS is unreachable', async () => {
    const unreachable = new SNSClient({
      endpoint: `http://127.0.0.1:${await closedLoopbackPort()}`,
      region: FAUXQS_REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const alerter = new SnsAlerter(topicArn, unreachable);

    try {
      const error = await alerter
        .send({ subject: 's', message: 'm', severity: 'info' })
        .catch((thrown: unknown) => thrown);

      expect(error).toBeInstanceOf(AlertError);
      expect((error as AlertError).message).toBe(`publishing an alert to SNS topic ${topicArn} failed`);
      expect((error as AlertError).cause).toBeInstanceOf(Error);
    } finally {
      unreachable.destroy();
    }
  });
});

describe('snsSubject', () => {
  it('replaces control characters and collapses whitespace', () => {
    expect(snsSubject('  a\tb\u0000c\u001b[1m  d  ')).toBe('a b c [1m d');
  });

  it('keeps a subject of the maximum length unchanged', () => {
    const subject = 's'.repeat(SNS_MAX_SUBJECT_CHARACTERS);

    expect(snsSubject(subject)).toBe(subject);
  });

  it('gives an empty subject a default', () => {
    expect(snsSubject('\n\n')).toBe('fleet-login alert');
  });
});

describe('snsMessage', () => {
  it('keeps a message within the limit unchanged', () => {
    expect(snsMessage('hello')).toBe('hello');
  });

  it('cuts an oversized message on a character boundary and marks it', () => {
    const message = 'é'.repeat(SNS_MAX_MESSAGE_BYTES);

    const cut = snsMessage(message);

    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(cut.endsWith('\n[message truncated to fit SNS]')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });

  it('replaces an empty message, which SNS rejects', () => {
    expect(snsMessage('')).toBe('(no message)');
  });
});

describe('ConsoleAlerter', () => {
  it('writes the severity, subject and message', async () => {
    const written: string[] = [];
    const alerter = new ConsoleAlerter((text) => written.push(text));

    await alerter.send({ subject: 'No emergency keys left', message: 'details\n', severity: 'critical' });

    expect(written).toEqual(['ALERT [critical] No emergency keys left\ndetails\n\n\n']);
  });
});

describe('createAlerter', () => {
  it('publishes to the topic in ALERT_TOPIC_ARN', () => {
    const arn = 'arn:aws:sns:eu-central-1:123456789012:on-call';

    const alerter = createAlerter({ ALERT_TOPIC_ARN: arn }, { consoleAllowed: false });

    expect(alerter).toBeInstanceOf(SnsAlerter);
    expect((alerter as SnsAlerter).topicArn).toBe(arn);
  });

  it('prints to the console in local runs without a topic', () => {
    expect(createAlerter({}, { consoleAllowed: true })).toBeInstanceOf(ConsoleAlerter);
  });

  it('requires a topic outside local runs', () => {
    expect(() => createAlerter({}, { consoleAllowed: false })).toThrow(ConfigError);
    expect(() => createAlerter({}, { consoleAllowed: false })).toThrow(/ALERT_TOPIC_ARN is required/);
  });

  it('rejects a value that is not a topic ARN', () => {
    expect(() => createAlerter({ ALERT_TOPIC_ARN: 'on-call' }, { consoleAllowed: true })).toThrow(
      /ALERT_TOPIC_ARN is not an SNS topic ARN: "on-call"/,
    );
  });
});
