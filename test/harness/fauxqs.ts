// fauxqs, an in-process SNS, SQS and S3 emulator, on 127.0.0.1 with a free port, and SDK clients for it.

import { createServer } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

export const FAUXQS_REGION = 'us-east-1';

export interface LoopbackFauxqs {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
  /** Closes the server and every client. */
  stop(): Promise<void>;
}

/**
 * Starts fauxqs bound to loopback. `startFauxqs` of fauxqs 1.9.2 always listens on 0.0.0.0, so this
 * builds the same app with `buildApp` and listens on 127.0.0.1 itself.
 */
export async function startLoopbackFauxqs(): Promise<LoopbackFauxqs> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  const clientConfig = {
    endpoint,
    region: FAUXQS_REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...clientConfig, forcePathStyle: true });
  const sns = new SNSClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  return {
    endpoint,
    s3,
    sns,
    sqs,
    async stop() {
      s3.destroy();
      sns.destroy();
      sqs.destroy();
      await app.close();
    },
  };
}

/** Creates a topic and a queue subscribed to it, the way an on-call topic's subscriber would see alerts. */
export async function createSubscribedQueue(
  fauxqs: LoopbackFauxqs,
  name: string,
): Promise<{ topicArn: string; queueUrl: string }> {
  const topic = await fauxqs.sns.send(new CreateTopicCommand({ Name: name }));
  const queue = await fauxqs.sqs.send(new CreateQueueCommand({ QueueName: `${name}-queue` }));
  const attributes = await fauxqs.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const topicArn = topic.TopicArn ?? '';
  const queueUrl = queue.QueueUrl ?? '';
  await fauxqs.sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: attributes.Attributes?.QueueArn }),
  );
  return { topicArn, queueUrl };
}

/** Receives and deletes every message now in the queue, waiting up to `waitSeconds` for the first one. */
export async function drainQueue(
  fauxqs: LoopbackFauxqs,
  queueUrl: string,
  waitSeconds = 1,
): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const output = await fauxqs.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: messages.length === 0 ? waitSeconds : 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const batch = output.Messages ?? [];
    if (batch.length === 0) return messages;
    for (const message of batch) {
      messages.push(message);
      await fauxqs.sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
    }
  }
}

/** Returns a port on 127.0.0.1 with nothing listening, so a client pointed at it gets ECONNREFUSED. */
export async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (typeof address !== 'object' || address === null) throw new Error('the probe server has no port');
  return address.port;
}
