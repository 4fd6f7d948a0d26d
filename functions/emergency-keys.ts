// Lambda: S3 events of the emergency-key bucket, direct or through SNS, become on-call alerts and a publish.

import type { Alerter } from '../shared/alerts/alerter.ts';
import { ChangeHistoryStore } from '../shared/emergency/change-history.ts';
import { asEmergencyBucket } from '../shared/emergency/emergency-keys.ts';
import { handleEmergencyKeyEvent } from '../shared/emergency/handle-event.ts';
import { defaultRuntime, withLogger } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import type { Runtime } from '../shared/runtime.ts';
import { requestPublish } from './sync-directory.ts';

const logger = createLogger('emergency-keys');

/**
 * Actions the function calls, for its IAM role: reads of the emergency bucket (versions and tags included),
 * the change history in the audit bucket, and the alert topic. Publish requests go to the inbox bucket.
 */
export const EMERGENCY_KEYS_IAM_ACTIONS = [
  's3:ListBucket',
  's3:GetObject',
  's3:GetObjectVersion',
  's3:GetObjectTagging',
  's3:GetObjectVersionTagging',
  's3:PutObject',
  'sns:Publish',
] as const;

export interface EmergencyKeysHandlerOptions {
  getRuntime?: () => Runtime;
  /** Defaults to the SNS topic in ALERT_TOPIC_ARN, or the console in local runs. */
  alerter?: Alerter;
  requestPublish?: (runtime: Runtime) => Promise<void>;
}

/** Builds the handler. A thrown error fails the invocation, so Lambda retries the event. */
export function createEmergencyKeysHandler(options: EmergencyKeysHandlerOptions = {}) {
  const getRuntime = options.getRuntime ?? defaultRuntime;
  let alerter = options.alerter;
  return withLogger(logger, async (event: unknown) => {
    const runtime = getRuntime();
    alerter ??= runtime.alerter();
    const bucketName = runtime.config.buckets.emergency;
    return handleEmergencyKeyEvent(event, {
      bucketName,
      bucket: asEmergencyBucket(runtime.bucket(bucketName)),
      // The history lives outside the emergency bucket, whose writes would trigger this function again.
      history: new ChangeHistoryStore(runtime.bucket(runtime.config.buckets.audit), logger),
      alerter,
      requestPublish: () => (options.requestPublish ?? requestPublish)(runtime),
      log: logger,
    });
  });
}

export const handler = createEmergencyKeysHandler();
