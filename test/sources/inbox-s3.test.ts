// The hooks' inbox on the S3 protocol: fauxqs on loopback for the happy path, aws-sdk-client-mock for
// the conditional-write answers (412, 409) that fauxqs does not enforce.

import { CreateBucketCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOktaHookHandler } from '../../functions/okta-hook.ts';
import { oktaDelivery } from '../../local/deliveries.ts';
import { loadConfig } from '../../shared/config.ts';
import { silentLog } from '../../shared/log.ts';
import { createRuntime } from '../../shared/runtime.ts';
import { handleOktaHook } from '../../shared/sources/okta-hook.ts';
import { S3ObjectStore } from '../../shared/storage/s3-store.ts';
import { type LoopbackFauxqs, startLoopbackFauxqs } from '../harness/fauxqs.ts';

const SECRET = 'Bearer inbox-secret';
const delivery = (uuid: string) =>
  JSON.stringify(
    oktaDelivery([
      { eventType: 'user.lifecycle.deactivate', userId: '00uANA', login: 'ana@example.test', uuid },
    ]),
  );

describe('Okta hook inbox on fauxqs', () => {
  let fauxqs: LoopbackFauxqs;
  beforeAll(async () => {
    fauxqs = await startLoopbackFauxqs();
    await fauxqs.s3.send(new CreateBucketCommand({ Bucket: 'inbox' }));
  });
  afterAll(() => fauxqs.stop());

  it('stores the event under its uuid, without the raw body or the secret', async () => {
    const inbox = new S3ObjectStore({ bucket: 'inbox', client: fauxqs.s3 });
    const response = await handleOktaHook(
      { method: 'POST', headers: { authorization: SECRET }, body: delivery('s3-evt-1') },
      { authHeader: 'authorization', secret: SECRET, inbox, log: silentLog },
    );
    expect(response.statusCode).toBe(200);
    expect(await inbox.list('inbox/')).toEqual(['inbox/okta/s3-evt-1.json']);
    const stored = await inbox.get('inbox/okta/s3-evt-1.json');
    const text = stored.kind === 'found' ? stored.body.toString() : '';
    expect(JSON.parse(text)).toMatchObject({ uuid: 's3-evt-1', userIds: ['00uANA'] });
    expect(text).not.toContain('displayMessage');
    expect(text).not.toContain(SECRET);
  });
});

describe('Okta hook inbox conditional writes', () => {
  // Created here, not at module load, so the fauxqs tests above talk to the real client.
  let s3: AwsClientStub<S3Client>;
  beforeAll(() => {
    s3 = mockClient(S3Client);
  });
  afterAll(() => s3.restore());
  const conflict = (status: number) =>
    new S3ServiceException({ name: 'Conflict', $fault: 'client', $metadata: { httpStatusCode: status } });

  function handlerWith(store: S3ObjectStore) {
    const config = loadConfig({ OBJECT_STORE: 's3', AWS_REGION: 'eu-central-1' });
    const runtime = createRuntime(config, {
      parameters: { get: async () => SECRET },
      bucket: () => store,
    });
    return createOktaHookHandler(() => runtime);
  }

  async function post(store: S3ObjectStore) {
    const event = {
      requestContext: { http: { method: 'POST' } },
      headers: { authorization: SECRET },
      body: delivery('mock-evt-1'),
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    return handlerWith(store)(event, {} as never);
  }

  it('writes with If-None-Match: * and answers 200 to a duplicate (412)', async () => {
    s3.reset();
    s3.on(PutObjectCommand).rejects(conflict(412));
    const store = new S3ObjectStore({ bucket: 'inbox', client: new S3Client({ region: 'eu-central-1' }) });
    expect(await post(store)).toMatchObject({ statusCode: 200 });
    const put = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: 'inbox', Key: 'inbox/okta/mock-evt-1.json', IfNoneMatch: '*' });
  });

  it('answers 500 to a conflicting concurrent write (409), so Okta retries', async () => {
    s3.reset();
    s3.on(PutObjectCommand).rejects(conflict(409));
    const store = new S3ObjectStore({ bucket: 'inbox', client: new S3Client({ region: 'eu-central-1' }) });
    expect(await post(store)).toMatchObject({ statusCode: 500 });
  });
});
