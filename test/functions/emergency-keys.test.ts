import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createEmergencyKeysHandler } from '../../functions/emergency-keys.ts';
import type { Alert } from '../../shared/alerts/alerter.ts';
import { loadConfig } from '../../shared/config.ts';
import { HISTORY_PREFIX } from '../../shared/emergency/change-history.ts';
import { createRuntime } from '../../shared/runtime.ts';
import { ed25519Line, s3Record } from '../emergency/fixtures.ts';
import { tempDir } from '../helpers/temp.ts';

const CONTEXT = {
  functionName: 'emergency-keys',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:emergency-keys',
  memoryLimitInMB: '256',
  awsRequestId: 'request-1',
  logGroupName: '/aws/lambda/emergency-keys',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

describe('emergency-keys handler', () => {
  it('alerts, records the change and requests a publish in a local run', async () => {
    const root = await tempDir('emergency-handler-');
    const runtime = createRuntime(
      loadConfig({ OKTA_ORG_URL: 'https://example.okta.com', OBJECT_STORE: 'local', LOCAL_STORE_DIR: root }),
    );
    const { emergency, audit, inbox } = runtime.config.buckets;
    await runtime.bucket(emergency).put('ops/jane.pub', ed25519Line('jane@ops'));
    const alerts: Alert[] = [];
    const handler = createEmergencyKeysHandler({
      getRuntime: () => runtime,
      alerter: { send: async (alert) => void alerts.push(alert) },
    });
    const event = { Records: [s3Record({ bucket: emergency, encodedKey: 'ops/jane.pub', sequencer: '01' })] };

    const summary = await handler(event, CONTEXT);

    expect(summary).toMatchObject({ alerted: 1, validKeys: 1, publishRequested: true });
    expect(alerts.map((alert) => alert.subject)).toEqual([
      'Emergency key added: ops/jane.pub by AWS:AROAEXAMPLEROLE:jane',
    ]);
    expect(await runtime.bucket(audit).list(HISTORY_PREFIX)).toHaveLength(1);
    expect(await runtime.bucket(inbox).list('publish-requests/')).toHaveLength(1);
    expect(await runtime.bucket(emergency).list('')).toEqual(['ops/jane.pub']);
  });
});
