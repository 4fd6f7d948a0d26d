import { describe, expect, it } from 'vitest';
import { oktaDelivery } from '../../local/deliveries.ts';
import { silentLog } from '../../shared/log.ts';
import type { HttpRequest } from '../../shared/sources/http.ts';
import { handleOktaHook } from '../../shared/sources/okta-hook.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { tempDir } from '../helpers/temp.ts';

const SECRET = 'Bearer s3cret-value';

async function setup() {
  const inbox = new LocalFolderStore(await tempDir());
  const warnings: unknown[] = [];
  const log = { ...silentLog, warn: (...args: unknown[]) => void warnings.push(args) };
  const call = (request: Partial<HttpRequest>) =>
    handleOktaHook(
      { method: 'POST', headers: { authorization: SECRET, 'content-type': 'application/json' }, ...request },
      { authHeader: 'authorization', secret: SECRET, inbox, log },
    );
  return { inbox, call, warnings };
}

const createEvent = {
  eventType: 'user.lifecycle.create',
  userId: '00uANA',
  login: 'ana@example.test',
  uuid: 'evt-create-1',
};

describe('handleOktaHook', () => {
  it('answers the verification GET with the challenge', async () => {
    const { call } = await setup();
    const response = await call({
      method: 'GET',
      headers: { authorization: SECRET, 'x-okta-verification-challenge': 'abc123' },
    });
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body ?? '')).toEqual({ verification: 'abc123' });
  });

  it('rejects the verification GET without the secret', async () => {
    const { call } = await setup();
    const response = await call({ method: 'GET', headers: { 'x-okta-verification-challenge': 'abc123' } });
    expect(response.statusCode).toBe(401);
  });

  it('stores each event of a delivery under its uuid and answers 200', async () => {
    const { call, inbox } = await setup();
    const response = await call({ body: JSON.stringify(oktaDelivery([createEvent])) });
    expect(response.statusCode).toBe(200);
    expect(await inbox.list('inbox/')).toEqual(['inbox/okta/evt-create-1.json']);
    const stored = await inbox.get('inbox/okta/evt-create-1.json');
    expect(stored.kind === 'found' && JSON.parse(stored.body.toString())).toMatchObject({
      eventType: 'user.lifecycle.create',
      userIds: ['00uANA'],
    });
  });

  it('stores nothing new for a repeated delivery', async () => {
    const { call, inbox } = await setup();
    const body = JSON.stringify(oktaDelivery([createEvent]));
    await call({ body });
    const before = await inbox.get('inbox/okta/evt-create-1.json');
    expect((await call({ body })).statusCode).toBe(200);
    expect(await inbox.list('inbox/')).toHaveLength(1);
    expect(await inbox.get('inbox/okta/evt-create-1.json')).toEqual(before);
  });

  it.each([
    ['a missing auth header', { headers: { 'content-type': 'application/json' } }],
    ['a wrong auth header', { headers: { authorization: 'Bearer wrong' } }],
    ['an auth header that is a prefix of the secret', { headers: { authorization: 'Bearer s3cret' } }],
  ])('answers 401 to %s and stores nothing', async (_case, request) => {
    const { call, inbox } = await setup();
    const response = await call({ ...request, body: JSON.stringify(oktaDelivery([createEvent])) });
    expect(response.statusCode).toBe(401);
    expect(await inbox.list('')).toEqual([]);
  });

  it('answers 400 to malformed JSON', async () => {
    const { call, inbox } = await setup();
    const response = await call({ body: '{"eventType":' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('not valid JSON');
    expect(await inbox.list('')).toEqual([]);
  });

  it('answers 400 naming the field that breaks the schema', async () => {
    const { call, inbox } = await setup();
    const delivery = oktaDelivery([createEvent]) as { data: { events: Record<string, unknown>[] } };
    const first = delivery.data.events[0];
    if (first) first.uuid = '../../escape';
    const response = await call({ body: JSON.stringify(delivery) });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('data.events.0.uuid');
    expect(await inbox.list('')).toEqual([]);
  });

  it('answers 413 to a body over 256 KiB', async () => {
    const { call, inbox } = await setup();
    const response = await call({ body: JSON.stringify({ padding: 'x'.repeat(256 * 1024) }) });
    expect(response.statusCode).toBe(413);
    expect(await inbox.list('')).toEqual([]);
  });

  it('decodes a base64 body as API Gateway delivers it', async () => {
    const { call, inbox } = await setup();
    const body = Buffer.from(JSON.stringify(oktaDelivery([createEvent]))).toString('base64');
    expect((await call({ body, isBase64Encoded: true })).statusCode).toBe(200);
    expect(await inbox.list('inbox/')).toHaveLength(1);
  });

  it('ignores and counts unknown event types and failed outcomes', async () => {
    const infos: unknown[][] = [];
    const inbox = new LocalFolderStore(await tempDir());
    const delivery = oktaDelivery([
      { eventType: 'user.session.start', userId: '00uANA', login: 'ana@example.test' },
      { eventType: 'user.mfa.factor.activate', userId: '00uANA', login: 'ana@example.test' },
      createEvent,
    ]);
    const response = await handleOktaHook(
      { method: 'POST', headers: { authorization: SECRET }, body: JSON.stringify(delivery) },
      {
        authHeader: 'authorization',
        secret: SECRET,
        inbox,
        log: { ...silentLog, info: (...args: unknown[]) => void infos.push(args) },
      },
    );
    expect(response.statusCode).toBe(200);
    expect(await inbox.list('inbox/')).toEqual(['inbox/okta/evt-create-1.json']);
    expect(infos[0]?.[1]).toMatchObject({ stored: 1, duplicates: 0, ignored: { 'unhandled-type': 2 } });
  });

  it('answers 405 to other methods', async () => {
    const { call } = await setup();
    expect((await call({ method: 'PUT' })).statusCode).toBe(405);
  });
});

describe('handleOktaHook rejection reports', () => {
  it('reports each rejection reason once', async () => {
    const reasons: string[] = [];
    const inbox = new LocalFolderStore(await tempDir());
    const deps = {
      authHeader: 'authorization',
      secret: SECRET,
      inbox,
      log: silentLog,
      onRejected: (reason: string) => void reasons.push(reason),
    };
    await handleOktaHook({ method: 'POST', headers: {}, body: '{}' }, deps);
    await handleOktaHook({ method: 'POST', headers: { authorization: SECRET }, body: '{' }, deps);
    await handleOktaHook({ method: 'POST', headers: { authorization: SECRET }, body: '{}' }, deps);
    expect(reasons).toEqual(['unauthorized', 'malformed-json', 'invalid-envelope']);
  });
});
