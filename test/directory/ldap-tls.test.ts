import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapStore } from '../../shared/directory/ldap-store.ts';
import { ConfigError, DirectoryError } from '../../shared/errors.ts';
import { clientTls, fixture, SUFFIX, storeOptions } from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';
import { makeTestCertificates, type TestCertificateFiles } from '../harness/test-certs.ts';

describe('LdapStore mutual TLS', () => {
  let server: SlapdServer;
  let otherDir: string;
  let other: TestCertificateFiles;

  beforeAll(async () => {
    server = await startSlapd({
      suffix: SUFFIX,
      ldif: [fixture('base.ldif'), fixture('existing.ldif')],
      plainListener: true,
    });
    otherDir = await mkdtemp(join(tmpdir(), 'fleet-login-other-ca-'));
    other = await makeTestCertificates(otherDir, 'other');
  });

  afterAll(async () => {
    await server?.stop();
    await rm(otherDir, { recursive: true, force: true });
  });

  async function failureOf(store: LdapStore): Promise<unknown> {
    try {
      return await store.findPerson('ana').then(() => undefined);
    } finally {
      await store.close();
    }
  }

  it('reads over ldaps with the client certificate the server trusts', async () => {
    const store = new LdapStore(storeOptions(server));
    expect((await store.findPerson('ana'))?.uidNumber).toBe(3001);
  });

  it('is refused without a client certificate', async () => {
    const { ca } = clientTls(server.tls);
    const store = new LdapStore(storeOptions(server, { tls: { ca, cert: '', key: '' } }));
    const error = await failureOf(store).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toContain(server.url);
  });

  it('is refused with a client certificate from another CA', async () => {
    const { ca } = clientTls(server.tls);
    const foreign = {
      ca,
      cert: await readFile(other.clientCertFile, 'utf8'),
      key: await readFile(other.clientKeyFile, 'utf8'),
    };
    const error = await failureOf(new LdapStore(storeOptions(server, { tls: foreign }))).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toContain(server.url);
  });

  it('rejects a server certificate that does not chain to the configured CA', async () => {
    const { cert, key } = clientTls(server.tls);
    const tls = { ca: await readFile(other.caFile, 'utf8'), cert, key };
    const error = await failureOf(new LdapStore(storeOptions(server, { tls }))).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DirectoryError);
    expect((error as Error).message).toMatch(/certificate/i);
  });

  it('upgrades ldap:// with StartTLS and the client certificate', async () => {
    const store = new LdapStore(storeOptions(server, { url: server.plainUrl ?? '', startTls: true }));
    expect((await store.findPerson('ana'))?.username).toBe('ana');
    expect((await store.snapshot()).people.map((person) => person.username)).toContain('ana');
  });

  it('refuses plain ldap:// without StartTLS', () => {
    expect(() => new LdapStore(storeOptions(server, { url: server.plainUrl ?? '' }))).toThrow(ConfigError);
  });

  it('reads TLS material from a function on every connection', async () => {
    let calls = 0;
    const material = clientTls(server.tls);
    const store = new LdapStore(
      storeOptions(server, {
        tls: async () => {
          calls++;
          return material;
        },
      }),
    );
    await store.findPerson('ana');
    await store.snapshot();
    expect(calls).toBe(2);
  });
});
