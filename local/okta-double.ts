// A small stand-in for the Okta Users API on 127.0.0.1, for `npm start`, the demo and the tests.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OktaGroup, OktaUser } from '../shared/sources/okta-api.ts';

/** Okta's lifecycle operations (POST /api/v1/users/{id}/lifecycle/{operation}) and the status each leaves. */
const LIFECYCLE_STATUS: Record<string, string> = {
  activate: 'ACTIVE',
  reactivate: 'ACTIVE',
  deactivate: 'DEPROVISIONED',
  suspend: 'SUSPENDED',
  unsuspend: 'ACTIVE',
};

export interface OktaDouble {
  /** Base URL to use as the Okta org URL. */
  url: string;
  apiToken: string;
  /** Creates or replaces a user; `groups` are group names. */
  setUser(user: OktaUser, groups?: string[]): void;
  removeUser(userId: string): void;
  /** Makes the next `count` requests return 429 with X-Rate-Limit-Reset one second ahead. */
  rateLimitNext(count: number): void;
  requests(): number;
  close(): Promise<void>;
}

/**
 * Starts the double on a free loopback port. It serves GET /api/v1/users/{id}, its /groups,
 * GET /api/v1/groups/{id}/users, and POST /api/v1/users/{id}/lifecycle/{operation} to change a status.
 * With `stateFile`, users survive a restart, as they do in a real org.
 */
export async function startOktaDouble(
  options: { apiToken?: string; stateFile?: string } = {},
): Promise<OktaDouble> {
  const apiToken = options.apiToken ?? 'local-okta-token';
  const users = new Map<string, { user: OktaUser; groups: OktaGroup[] }>(
    options.stateFile && existsSync(options.stateFile)
      ? JSON.parse(readFileSync(options.stateFile, 'utf8'))
      : [],
  );
  const save = () => {
    if (options.stateFile) writeFileSync(options.stateFile, JSON.stringify([...users], null, 2));
  };
  let rateLimited = 0;
  let requestCount = 0;

  const server: Server = createServer((request, response) => {
    requestCount++;
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (request.headers.authorization !== `SSWS ${apiToken}`) return send(401, { errorCode: 'E0000011' });
    if (rateLimited > 0) {
      rateLimited--;
      return send(
        429,
        { errorCode: 'E0000047' },
        { 'x-rate-limit-reset': String(Math.ceil(Date.now() / 1000) + 1) },
      );
    }
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const groupMatch = path.match(/^\/api\/v1\/groups\/([^/]+)\/users$/);
    if (request.method === 'GET' && groupMatch?.[1]) {
      // The double keeps no group registry: a group exists while it has at least one member.
      const groupId = decodeURIComponent(groupMatch[1]);
      const members = [...users.values()].filter((entry) =>
        entry.groups.some((group) => group.id === groupId),
      );
      return members.length === 0
        ? send(404, { errorCode: 'E0000007' })
        : send(
            200,
            members.map((entry) => entry.user),
          );
    }
    const lifecycle = path.match(/^\/api\/v1\/users\/([^/]+)\/lifecycle\/([a-z]+)$/);
    if (request.method === 'POST' && lifecycle?.[1] && lifecycle[2]) {
      const target = users.get(decodeURIComponent(lifecycle[1]));
      const status = LIFECYCLE_STATUS[lifecycle[2]];
      if (!target || !status) return send(404, { errorCode: 'E0000007' });
      target.user = { ...target.user, status };
      save();
      return send(200, {});
    }
    const match = path.match(/^\/api\/v1\/users\/([^/]+)(\/groups)?$/);
    const entry = match?.[1] ? users.get(decodeURIComponent(match[1])) : undefined;
    if (request.method !== 'GET' || !entry) return send(404, { errorCode: 'E0000007' });
    return send(200, match?.[2] ? entry.groups : entry.user);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    apiToken,
    setUser(user, groups = []) {
      users.set(user.id, { user, groups: groups.map((name) => ({ id: `00g${name}`, profile: { name } })) });
      save();
    },
    removeUser(userId) {
      users.delete(userId);
      save();
    },
    rateLimitNext(count) {
      rateLimited = count;
    },
    requests: () => requestCount,
    close: () =>
      new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
