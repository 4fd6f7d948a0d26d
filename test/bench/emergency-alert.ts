// Benchmark: time from an emergency-key S3 event to its alert published to SNS and delivered to a
// subscribed queue, against fauxqs on loopback. Run alone with `tsx test/bench/emergency-alert.ts [runs]`.

import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { PublishCommand } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Alert } from '../../shared/alerts/alerter.ts';
import { SnsAlerter } from '../../shared/alerts/sns-alerter.ts';
import { ChangeHistoryStore } from '../../shared/emergency/change-history.ts';
import { handleEmergencyKeyEvent } from '../../shared/emergency/handle-event.ts';
import { silentLog } from '../../shared/log.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { ed25519Line, s3Record } from '../emergency/fixtures.ts';
import {
  createSubscribedQueue,
  drainQueue,
  type LoopbackFauxqs,
  startLoopbackFauxqs,
} from '../harness/fauxqs.ts';

const DEFAULT_RUNS = 100;
const WARM_UP_RUNS = 5;

interface Sample {
  /** Event handed to the handler until SNS accepted the alert. */
  publishedMs: number;
  /** Event handed to the handler until the alert was received from the subscribed queue. */
  deliveredMs: number;
  /** Event handed to the handler until it returned: alert, bucket re-read, publish request, history write. */
  handledMs: number;
}

/** Measures `runs` events and prints the median, 95th percentile and maximum of each interval. */
export async function runEmergencyAlertBench(runs: number): Promise<void> {
  const fauxqs = await startLoopbackFauxqs();
  try {
    const { topicArn, queueUrl } = await createSubscribedQueue(fauxqs, 'bench-on-call');
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: 'bench-emergency' }));
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: 'bench-audit' }));

    const baseline: number[] = [];
    const samples: Sample[] = [];
    for (let run = 0; run < runs + WARM_UP_RUNS; run += 1) {
      const floor = await measureBarePublish(fauxqs, topicArn, queueUrl);
      const sample = await measureEvent(fauxqs, topicArn, queueUrl, run);
      if (run < WARM_UP_RUNS) continue;
      baseline.push(floor);
      samples.push(sample);
    }
    printReport(runs, baseline, samples);
  } finally {
    await fauxqs.stop();
  }
}

/** One emergency-key write: the object is replaced and the handler runs on its S3 event. */
async function measureEvent(
  fauxqs: LoopbackFauxqs,
  topicArn: string,
  queueUrl: string,
  run: number,
): Promise<Sample> {
  const bucket = new S3ObjectStore({ bucket: 'bench-emergency', client: fauxqs.s3 });
  const sns = new SnsAlerter(topicArn, fauxqs.sns);
  let publishedAt = 0;
  const alerter = {
    async send(alert: Alert) {
      await sns.send(alert);
      publishedAt ||= performance.now();
    },
  };
  await bucket.put('ops/jane.pub', `${ed25519Line(`run-${run}@bench`)}\n`);
  const sequencer = (run + 1).toString(16).toUpperCase().padStart(16, '0');
  const event = { Records: [s3Record({ bucket: 'bench-emergency', encodedKey: 'ops/jane.pub', sequencer })] };

  // The queue is polled while the handler runs, so delivery is timed when it happens.
  const delivered = receiveOne(fauxqs, queueUrl);
  const start = performance.now();
  await handleEmergencyKeyEvent(event, {
    bucketName: 'bench-emergency',
    bucket,
    history: new ChangeHistoryStore(
      new S3ObjectStore({ bucket: 'bench-audit', client: fauxqs.s3 }),
      silentLog,
    ),
    alerter,
    requestPublish: async () => {},
    log: silentLog,
  });
  const handledAt = performance.now();
  const deliveredAt = await delivered;
  return { publishedMs: publishedAt - start, deliveredMs: deliveredAt - start, handledMs: handledAt - start };
}

/** SNS publish to queue receive with no handler work, the floor the emulator itself sets. */
async function measureBarePublish(
  fauxqs: LoopbackFauxqs,
  topicArn: string,
  queueUrl: string,
): Promise<number> {
  const delivered = receiveOne(fauxqs, queueUrl);
  const start = performance.now();
  await fauxqs.sns.send(new PublishCommand({ TopicArn: topicArn, Subject: 'baseline', Message: 'baseline' }));
  return (await delivered) - start;
}

/** Long-polls for one message, deletes every message, and returns the time the first one arrived. */
async function receiveOne(fauxqs: LoopbackFauxqs, queueUrl: string): Promise<number> {
  for (;;) {
    const output = await fauxqs.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1 }),
    );
    if ((output.Messages ?? []).length > 0) {
      const at = performance.now();
      await drainQueue(fauxqs, queueUrl, 0);
      return at;
    }
  }
}

function printReport(runs: number, baseline: number[], samples: Sample[]): void {
  const cpu = cpus();
  console.log(
    `\nEmergency key alert: ${runs} S3 events against fauxqs on 127.0.0.1, after ${WARM_UP_RUNS} warm-up runs`,
  );
  console.log(`Node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}`);
  console.log('interval                                  | median ms | p95 ms | max ms');
  const rows: [string, number[]][] = [
    ['baseline: bare SNS publish to queue      ', baseline],
    ['event to alert accepted by SNS           ', samples.map((sample) => sample.publishedMs)],
    ['event to alert received from the queue   ', samples.map((sample) => sample.deliveredMs)],
    ['event to handler done (incl. publish req)', samples.map((sample) => sample.handledMs)],
  ];
  for (const [label, values] of rows) {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (share: number) => sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
    console.log(
      `${label} | ${at(0.5).toFixed(1).padStart(9)} | ${at(0.95).toFixed(1).padStart(6)} | ${at(1).toFixed(1).padStart(6)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runEmergencyAlertBench(Number(process.argv[2] ?? DEFAULT_RUNS));
}
