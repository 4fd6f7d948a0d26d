import { describe, expect, it } from 'vitest';
import { silentLog } from '../../shared/log.ts';
import { handleHrHook } from '../../shared/sources/hr-hook.ts';
import { signHrBody } from '../../shared/sources/hr-signature.ts';
import { LocalFolderStore } from '../../shared/storage/local-store.ts';
import { tempDir } from '../helpers/temp.ts';

const SECRET = 'hr-webhook-private-key';
const NOW = new Date('2026-12-01T10:20:00Z');
const ISO_NOW = '2026-12-01T10:20:00+0000';

const eventBased = JSON.stringify({
  type: 'employee.updated',
  timestamp: ISO_NOW,
  data: { companyId: '4242', employeeId: '1187', changedFields: ['status'] },
});
const fieldBased = JSON.stringify({
  employees: [
    {
      id: '1187',
      action: 'Updated',
      timestamp: ISO_NOW,
      changedFields: ['Status'],
      fields: {
        'Work Email': 'jane.doe@example.test',
        Status: 'Inactive',
        Department: 'SRE',
        'Pay Rate': '1000',
      },
    },
  ],
});

async function setup(secrets: string[] = [SECRET]) {
  const inbox = new LocalFolderStore(await tempDir());
  const call = (body: string, headers: Record<string, string | undefined>) =>
    handleHrHook(
      { method: 'POST', headers, body },
      { secrets, groupField: 'department', inbox, log: silentLog, now: () => NOW },
    );
  const signed = (body: string, timestamp = ISO_NOW, secret = SECRET) =>
    call(body, {
      'x-bamboohr-timestamp': timestamp,
      'x-bamboohr-signature': signHrBody(secret, Buffer.from(body), timestamp),
    });
  return { inbox, call, signed };
}

describe('handleHrHook', () => {
  it('stores an event-based delivery with ids only', async () => {
    const { inbox, signed } = await setup();
    expect((await signed(eventBased)).statusCode).toBe(200);
    const keys = await inbox.list('inbox/hr/');
    expect(keys).toHaveLength(1);
    const stored = await inbox.get(keys[0] ?? '');
    const entry = stored.kind === 'found' ? JSON.parse(stored.body.toString()) : undefined;
    expect(entry).toMatchObject({ source: 'hr', employeeId: '1187', action: 'updated', eventTime: ISO_NOW });
    expect(entry.fields).toBeUndefined();
  });

  it('stores a field-based delivery keeping only the fields fleet-login uses', async () => {
    const { inbox, signed } = await setup();
    expect((await signed(fieldBased)).statusCode).toBe(200);
    const [key] = await inbox.list('inbox/hr/');
    const stored = await inbox.get(key ?? '');
    const entry = stored.kind === 'found' ? JSON.parse(stored.body.toString()) : undefined;
    expect(entry.fields).toEqual({ workEmail: 'jane.doe@example.test', status: 'Inactive', group: 'SRE' });
  });

  it('stores nothing new for a repeated delivery', async () => {
    const { inbox, signed } = await setup();
    await signed(fieldBased);
    expect((await signed(fieldBased)).statusCode).toBe(200);
    expect(await inbox.list('inbox/hr/')).toHaveLength(1);
  });

  it('accepts a Unix-seconds timestamp and the second secret of a rotation', async () => {
    const { inbox, signed } = await setup(['old-secret', SECRET]);
    const seconds = String(NOW.getTime() / 1000 - 30);
    expect((await signed(eventBased, seconds)).statusCode).toBe(200);
    expect(await inbox.list('inbox/hr/')).toHaveLength(1);
  });

  it.each([
    [
      'a wrong signature',
      (s: Awaited<ReturnType<typeof setup>>) => s.signed(eventBased, ISO_NOW, 'not-the-secret'),
    ],
    [
      'a signature over a re-serialised body',
      (s: Awaited<ReturnType<typeof setup>>) => {
        const reserialised = JSON.stringify(JSON.parse(eventBased), null, 2);
        return s.call(reserialised, {
          'x-bamboohr-timestamp': ISO_NOW,
          'x-bamboohr-signature': signHrBody(SECRET, Buffer.from(eventBased), ISO_NOW),
        });
      },
    ],
    [
      'a timestamp 6 minutes old',
      (s: Awaited<ReturnType<typeof setup>>) => s.signed(eventBased, '2026-12-01T10:14:00+0000'),
    ],
    [
      'a timestamp 6 minutes ahead',
      (s: Awaited<ReturnType<typeof setup>>) => s.signed(eventBased, '2026-12-01T10:26:00+0000'),
    ],
    [
      'a timestamp that is not a time',
      (s: Awaited<ReturnType<typeof setup>>) => s.signed(eventBased, 'yesterday'),
    ],
    ['missing headers', (s: Awaited<ReturnType<typeof setup>>) => s.call(eventBased, {})],
  ])('answers 401 to %s and stores nothing', async (_case, send) => {
    const state = await setup();
    expect((await send(state)).statusCode).toBe(401);
    expect(await state.inbox.list('')).toEqual([]);
  });

  it('answers 413 to an oversized body and stores nothing', async () => {
    const { inbox, signed } = await setup();
    expect((await signed(JSON.stringify({ padding: 'x'.repeat(300 * 1024) }))).statusCode).toBe(413);
    expect(await inbox.list('')).toEqual([]);
  });

  it('answers 400 to signed malformed JSON', async () => {
    const { inbox, signed } = await setup();
    const response = await signed('{"type":');
    expect(response.statusCode).toBe(400);
    expect(await inbox.list('')).toEqual([]);
  });

  it('answers 400 naming the field that breaks the schema', async () => {
    const { inbox, signed } = await setup();
    const body = JSON.stringify({ employees: [{ id: '1187', action: 'Fired', timestamp: ISO_NOW }] });
    const response = await signed(body);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('employees.0.action');
    expect(await inbox.list('')).toEqual([]);
  });
});
