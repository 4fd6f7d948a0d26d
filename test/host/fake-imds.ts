// Test helper: a fake EC2 instance metadata service (IMDSv2) on 127.0.0.1 that hands out one
// role's credentials and records every request.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const IMDS_TOKEN = 'fake-imds-session-token';
export const IMDS_ROLE = 'fleet-login-host';
export const IMDS_CREDENTIALS = {
  accessKeyId: 'ASIAFAKEIMDSKEY',
  secretAccessKey: 'fake/imds+secret',
  sessionToken: 'fake-imds-role-session',
};

export interface FakeImds {
  /** `http://127.0.0.1:<port>`, for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  endpoint: string;
  /** `METHOD path` of every request, in order. */
  readonly requests: string[];
  /** Replaces the credential document the role path returns. */
  setDocument(document: Record<string, unknown>): void;
  /** The role list the security-credentials path returns; empty means no instance profile. */
  setRoles(roles: string): void;
  stop(): Promise<void>;
}

/** Starts the fake IMDS. Requests without the session token get 401, as on EC2 with IMDSv2 required. */
export async function startFakeImds(): Promise<FakeImds> {
  const requests: string[] = [];
  let roles = `${IMDS_ROLE}\n`;
  let document: Record<string, unknown> = {
    Code: 'Success',
    Type: 'AWS-HMAC',
    AccessKeyId: IMDS_CREDENTIALS.accessKeyId,
    SecretAccessKey: IMDS_CREDENTIALS.secretAccessKey,
    Token: IMDS_CREDENTIALS.sessionToken,
    Expiration: new Date(Date.now() + 3_600_000).toISOString(),
  };
  const server: Server = createServer((incoming, outgoing) => {
    const line = `${incoming.method} ${incoming.url}`;
    requests.push(line);
    if (line === 'PUT /latest/api/token' && incoming.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
      outgoing.end(IMDS_TOKEN);
      return;
    }
    if (incoming.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) {
      outgoing.writeHead(401).end();
      return;
    }
    if (line === 'GET /latest/meta-data/iam/security-credentials/') {
      outgoing.end(roles);
      return;
    }
    if (line === `GET /latest/meta-data/iam/security-credentials/${IMDS_ROLE}`) {
      outgoing.end(JSON.stringify(document));
      return;
    }
    outgoing.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setDocument: (next) => {
      document = next;
    },
    setRoles: (next) => {
      roles = next;
    },
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
