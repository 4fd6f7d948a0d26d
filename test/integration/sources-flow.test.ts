// Webhooks through the local stack: order independence, HR termination, usernames and audit records.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oktaDelivery, postDelivery, postHrDelivery } from '../../local/deliveries.ts';
import { generateSshKey } from '../../local/ssh-keys.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { silentLog } from '../../shared/log.ts';
import type { OktaUser } from '../../shared/sources/okta-api.ts';
import { readBundleFile } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/temp.ts';

let stack: LocalStack;
beforeEach(async () => {
  stack = await startLocalStack({ dataDir: await tempDir(), log: silentLog });
});
afterEach(() => stack.close());

const CLASSES = ['general', 'bastion'];
const key = generateSshKey('jane@laptop').publicKey;

function jane(status: string, login = 'jane.doe@example.test', id = '00uJANE'): OktaUser {
  return {
    id,
    status,
    profile: { login, email: login, firstName: 'Jane', lastName: 'Doe', sshPublicKeys: [key] },
  };
}

async function deliver(events: Parameters<typeof oktaDelivery>[0]): Promise<number> {
  const started = performance.now();
  const response = await postDelivery(stack.hookUrl, stack.hookSecret, oktaDelivery(events));
  expect(response.status).toBe(200);
  return performance.now() - started;
}

async function bundle(name: 'passwd.cache' | 'group.cache' | 'sshkey.cache', hostClass = 'general') {
  return readBundleFile(
    stack.runtime.bucket(stack.runtime.config.buckets.bundles),
    stack.keyringFile,
    hostClass,
    name,
  );
}

describe('webhooks to bundles', () => {
  it('ends disabled when an older activate arrives between a deactivate and its replay (C17)', async () => {
    stack.okta.setUser(jane('ACTIVE'), ['SSH Ops']);
    await deliver([
      {
        eventType: 'user.lifecycle.activate',
        userId: '00uJANE',
        login: 'jane.doe@example.test',
        published: '2026-12-01T09:00:00Z',
      },
    ]);
    await stack.syncNow();
    expect(await bundle('sshkey.cache')).toContain('jane.doe:');

    stack.okta.setUser(jane('DEPROVISIONED'), []);
    const first = [
      {
        eventType: 'user.lifecycle.deactivate',
        userId: '00uJANE',
        login: 'jane.doe@example.test',
        uuid: 'c17-deactivate',
        published: '2026-12-01T10:00:00Z',
      },
      {
        eventType: 'group.user_membership.remove',
        userId: '00uJANE',
        login: 'jane.doe@example.test',
        group: 'SSH Ops',
        uuid: 'c17-remove',
        published: '2026-12-01T10:00:01Z',
      },
    ];
    const older = [
      {
        eventType: 'user.lifecycle.activate',
        userId: '00uJANE',
        login: 'jane.doe@example.test',
        uuid: 'c17-old-activate',
        published: '2026-12-01T08:00:00Z',
      },
    ];
    const latencies = [await deliver(first), await deliver(older), await deliver(first)];
    await stack.syncNow();

    for (const latency of latencies) expect(latency).toBeLessThan(300);
    for (const hostClass of CLASSES) {
      expect(await bundle('sshkey.cache', hostClass)).not.toContain('jane.doe');
      expect(await bundle('passwd.cache', hostClass)).not.toContain('jane.doe');
      expect(await bundle('group.cache', hostClass)).not.toMatch(/ssh-ops:.*jane\.doe/);
    }
    const store = await stack.runtime.openDirectory();
    expect(await store.findPerson('jane.doe')).toMatchObject({ status: 'disabled', sshPublicKeys: [] });
    const processed = await stack.runtime
      .bucket(stack.runtime.config.buckets.inbox)
      .list('processed/okta/c17-');
    expect(processed).toHaveLength(3);
  });

  it('gives two tagged logins two names used identically in every map (C07)', async () => {
    const logins = [
      'maria-jose.van.der.berg+contractor@subsidiary.example.co.uk',
      'maria-jose.van.der.berg+intern@subsidiary.example.co.uk',
    ];
    logins.forEach((login, n) => void stack.okta.setUser(jane('ACTIVE', login, `00uMJ${n}`), ['SSH Ops']));
    await deliver(
      logins.map((login, n) => ({ eventType: 'user.lifecycle.create', userId: `00uMJ${n}`, login })),
    );
    await stack.syncNow();

    const passwd = await bundle('passwd.cache');
    const names = passwd
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(':')[0] ?? '');
    expect(new Set(names).size).toBe(2);
    const group = (await bundle('group.cache')).split('\n').find((line) => line.startsWith('ssh-ops:'));
    expect(group?.split(':')[3]?.split(',').sort()).toEqual([...names].sort());
    const keyOwners = new Set(
      (await bundle('sshkey.cache'))
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(':')[0]),
    );
    expect(keyOwners).toEqual(new Set(names));
  });

  it('removes the access of a person HR terminates while Okta still shows them active', async () => {
    stack.okta.setUser(jane('ACTIVE'));
    await deliver([
      { eventType: 'user.lifecycle.create', userId: '00uJANE', login: 'jane.doe@example.test' },
    ]);
    await stack.syncNow();
    expect(await bundle('passwd.cache')).toContain('jane.doe:');

    const body = JSON.stringify({
      employees: [
        {
          id: '77',
          action: 'Updated',
          timestamp: new Date().toISOString(),
          fields: { 'Work Email': 'Jane.Doe@example.test', Status: 'Inactive' },
        },
      ],
    });
    const response = await postHrDelivery(stack.hrHookUrl, stack.hrSecret, body);
    expect(response.status).toBe(200);
    await stack.syncNow();
    expect(await bundle('passwd.cache')).not.toContain('jane.doe:');

    // A later Okta event does not bring her back while HR reports her terminated.
    await deliver([
      { eventType: 'user.account.update_profile', userId: '00uJANE', login: 'jane.doe@example.test' },
    ]);
    await stack.syncNow();
    expect(await bundle('sshkey.cache')).not.toContain('jane.doe');
  });

  it('writes an audit record that answers who, what, where, when and why', async () => {
    stack.okta.setUser(jane('ACTIVE'), ['SSH Ops']);
    await deliver([
      {
        eventType: 'user.lifecycle.create',
        userId: '00uJANE',
        login: 'jane.doe@example.test',
        uuid: 'audit-create',
        published: '2026-12-01T10:00:00.000Z',
      },
    ]);
    await stack.syncNow();

    const audit = stack.runtime.bucket(stack.runtime.config.buckets.audit);
    const [auditKey] = await audit.list('audit/');
    const object = await audit.get(auditKey ?? '');
    const record = object.kind === 'found' ? JSON.parse(object.body.toString()) : undefined;
    expect(record.who).toEqual({
      source: 'okta',
      actorId: '00uLOCALADMIN',
      actorLogin: 'admin@example.test',
      actorType: 'User',
    });
    expect(record.what.action).toBe('created');
    expect(record.what.changes).toEqual(['person', '+group ssh-ops']);
    expect(record.what.after.keyFingerprints[0]).toMatch(/^SHA256:/);
    expect(JSON.stringify(record)).not.toContain(key.split(' ')[1]);
    expect(record.where).toEqual({ entry: 'jane.doe', hostClasses: ['general', 'bastion'] });
    expect(record.when.eventTime).toBe('2026-12-01T10:00:00.000Z');
    expect(Date.parse(record.when.appliedAt)).toBeGreaterThan(Date.parse(record.when.eventTime));
    expect(record.why).toEqual({ eventId: 'audit-create', eventType: 'user.lifecycle.create' });
  });
});
