import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LdapStore } from '../../shared/directory/ldap-store.ts';
import { DirectoryError } from '../../shared/errors.ts';
import { fixture, SUFFIX, storeFor } from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';

const TIMEOUT_MS = 800;
/** Slack for timer scheduling and the unbind attempt after the timeout. */
const SLACK_MS = 700;

describe('LdapStore when slapd stops', () => {
  let server: SlapdServer;
  let store: LdapStore;

  beforeAll(async () => {
    server = await startSlapd({ suffix: SUFFIX, ldif: [fixture('base.ldif'), fixture('existing.ldif')] });
    store = storeFor(server, { timeoutMs: TIMEOUT_MS, connectTimeoutMs: TIMEOUT_MS });
  });

  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  /** Runs `operation` and returns its error and how long it took to fail. */
  async function timeFailure(
    operation: () => Promise<unknown>,
  ): Promise<{ error: unknown; elapsedMs: number }> {
    const started = performance.now();
    const error = await operation().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    return { error, elapsedMs: performance.now() - started };
  }

  it('times out while paused, then completes', async () => {
    expect((await store.findPerson('ana'))?.username).toBe('ana');
    process.kill(server.pid, 'SIGSTOP');
    try {
      const create = await timeFailure(() =>
        store.createPerson({
          username: 'pat',
          displayName: 'Pat Paused',
          sourceId: '00u-pat',
          status: 'active',
          sshPublicKeys: [],
        }),
      );
      const snapshot = await timeFailure(() => store.snapshot());

      for (const { error, elapsedMs } of [create, snapshot]) {
        expect(error).toBeInstanceOf(DirectoryError);
        expect((error as Error).message).toContain(server.url);
        expect(elapsedMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);
      }
    } finally {
      process.kill(server.pid, 'SIGCONT');
    }

    const pat = await store.createPerson({
      username: 'pat',
      displayName: 'Pat Paused',
      sourceId: '00u-pat',
      status: 'active',
      sshPublicKeys: [],
    });
    expect(pat.gidNumber).toBe(pat.uidNumber);
    expect((await store.snapshot()).groups.map((group) => group.name)).toContain('pat');
  });

  it('fails fast while slapd is down and works again after a restart', async () => {
    process.kill(server.pid, 'SIGKILL');
    const down = await timeFailure(() => store.findPerson('ana'));
    expect(down.error).toBeInstanceOf(DirectoryError);
    expect((down.error as Error).message).toContain(server.url);
    expect(down.elapsedMs).toBeLessThan(TIMEOUT_MS + SLACK_MS);

    await server.restart();
    expect((await store.findPerson('ana'))?.username).toBe('ana');
  });
});
