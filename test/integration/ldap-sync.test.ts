// Webhooks into a real slapd over mutual TLS: an outage delays changes and loses none, and an HR
// termination sticks in the directory even while Okta still shows the person active.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { oktaDelivery, postDelivery, postHrDelivery } from '../../local/deliveries.ts';
import { generateSshKey } from '../../local/ssh-keys.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { silentLog } from '../../shared/log.ts';
import type { OktaUser } from '../../shared/sources/okta-api.ts';
import { fixture, PEOPLE_BASE, readEntry, SUFFIX, storeFor } from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';
import { readBundleFile } from '../helpers/bundles.ts';
import { tempDir } from '../helpers/temp.ts';

let server: SlapdServer;
let stack: LocalStack;
beforeEach(async () => {
  server = await startSlapd({ suffix: SUFFIX, ldif: [fixture('base.ldif')] });
  stack = await startLocalStack({
    dataDir: await tempDir(),
    log: silentLog,
    openDirectory: async () => storeFor(server),
  });
});
afterEach(async () => {
  await stack.close();
  await server.stop();
});

const key = generateSshKey('jane').publicKey;
function user(id: string, login: string, status = 'ACTIVE'): OktaUser {
  return {
    id,
    status,
    profile: { login, email: login, firstName: 'Jane', lastName: 'Doe', sshPublicKeys: [key] },
  };
}

async function deliver(eventType: string, id: string, login: string): Promise<void> {
  const response = await postDelivery(
    stack.hookUrl,
    stack.hookSecret,
    oktaDelivery([{ eventType, userId: id, login }]),
  );
  expect(response.status).toBe(200);
}

describe('sync into LDAP', () => {
  it('keeps deliveries while slapd is down and applies each once when it is back', async () => {
    stack.okta.setUser(user('00uA', 'ada@example.test'));
    await deliver('user.lifecycle.create', '00uA', 'ada@example.test');
    await stack.syncNow();
    expect(await readEntry(server, `uid=ada,${PEOPLE_BASE}`)).toBeDefined();

    // 1. slapd dies; the hooks still respond and the inbox keeps the events.
    process.kill(server.pid, 'SIGKILL');
    stack.okta.setUser(user('00uB', 'bea@example.test'), ['SSH Ops']);
    stack.okta.setUser(user('00uA', 'ada@example.test', 'DEPROVISIONED'));
    await deliver('user.lifecycle.create', '00uB', 'bea@example.test');
    await deliver('user.lifecycle.deactivate', '00uA', 'ada@example.test');
    expect(await stack.syncNow()).toMatchObject({ applied: 0, failed: 2 });
    const inbox = stack.runtime.bucket(stack.runtime.config.buckets.inbox);
    expect(await inbox.list('inbox/okta/')).toHaveLength(3);
    expect(await inbox.list('processed/okta/')).toHaveLength(1);

    // 2. slapd is back: every pending change is applied exactly once.
    await server.restart();
    await stack.syncNow();
    expect(await inbox.list('processed/okta/')).toHaveLength(3);
    expect((await readEntry(server, `uid=bea,${PEOPLE_BASE}`))?.sshPublicKey).toEqual([key]);
    expect((await readEntry(server, `uid=ada,${PEOPLE_BASE}`))?.shadowExpire).toEqual(['1']);
    const audit = await stack.runtime.bucket(stack.runtime.config.buckets.audit).list('audit/');
    expect(audit).toHaveLength(3);
    const passwd = await readBundleFile(
      stack.runtime.bucket(stack.runtime.config.buckets.bundles),
      stack.keyringFile,
      'general',
      'passwd.cache',
    );
    expect(passwd).toContain('bea:');
    expect(passwd).not.toContain('ada:');
  });

  it('keeps an HR termination in the directory while Okta still shows the person active', async () => {
    stack.okta.setUser(user('00uC', 'cy@example.test'));
    await deliver('user.lifecycle.create', '00uC', 'cy@example.test');
    await stack.syncNow();

    const body = JSON.stringify({
      type: 'employee.updated',
      timestamp: new Date().toISOString(),
      data: { employeeId: '501' },
    });
    stack.hr.setEmployee('501', { workEmail: 'CY@example.test', status: 'Inactive' });
    const response = await postHrDelivery(stack.hrHookUrl, stack.hrSecret, body);
    expect(response.status).toBe(200);
    await stack.syncNow();
    const entry = await readEntry(server, `uid=cy,${PEOPLE_BASE}`);
    expect(entry?.employeeType).toEqual(['terminated']);
    expect(entry?.sshPublicKey).toBeUndefined();

    await deliver('user.account.update_profile', '00uC', 'cy@example.test');
    await stack.syncNow();
    expect((await readEntry(server, `uid=cy,${PEOPLE_BASE}`))?.sshPublicKey).toBeUndefined();
    const passwd = await readBundleFile(
      stack.runtime.bucket(stack.runtime.config.buckets.bundles),
      stack.keyringFile,
      'general',
      'passwd.cache',
    );
    expect(passwd).not.toContain('cy:');
  });

  it('deactivates a person whose email LDAP cannot store', async () => {
    stack.okta.setUser(user('00uR', 'rene@example.test'));
    await deliver('user.lifecycle.create', '00uR', 'rene@example.test');
    await stack.syncNow();
    // Okta now reports a non-ASCII address, which the IA5String mail attribute rejects, with the deactivation.
    stack.okta.setUser({
      ...user('00uR', 'rene@example.test', 'DEPROVISIONED'),
      profile: { ...user('00uR', 'rene@example.test').profile, email: 'rené@example.test' },
    });
    await deliver('user.lifecycle.deactivate', '00uR', 'rene@example.test');
    expect(await stack.syncNow()).toMatchObject({ failed: 0 });
    const entry = await readEntry(server, `uid=rene,${PEOPLE_BASE}`);
    expect(entry?.shadowExpire).toEqual(['1']);
    expect(entry?.sshPublicKey).toBeUndefined();
  });

  it('terminates both accounts that share an email in LDAP', async () => {
    const shared = 'dana@example.test';
    stack.okta.setUser(user('00uD1', shared));
    stack.okta.setUser({
      ...user('00uD2', 'dana.admin@example.test'),
      profile: { ...user('00uD2', 'dana.admin@example.test').profile, email: shared },
    });
    await deliver('user.lifecycle.create', '00uD1', shared);
    await deliver('user.lifecycle.create', '00uD2', 'dana.admin@example.test');
    await stack.syncNow();

    const body = JSON.stringify({
      type: 'employee.updated',
      timestamp: new Date().toISOString(),
      data: { employeeId: '777' },
    });
    stack.hr.setEmployee('777', { workEmail: shared, status: 'Terminated' });
    const response = await postHrDelivery(stack.hrHookUrl, stack.hrSecret, body);
    expect(response.status).toBe(200);
    await stack.syncNow();
    for (const name of ['dana', 'dana.admin']) {
      const entry = await readEntry(server, `uid=${name},${PEOPLE_BASE}`);
      expect(entry?.employeeType).toEqual(['terminated']);
      expect(entry?.shadowExpire).toEqual(['1']);
    }
  });
});
