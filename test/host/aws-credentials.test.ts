// The agent's credential chain: environment variables first, then IMDSv2 on a fake server on loopback.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createCredentialProvider,
  credentialsFromEnvironment,
  credentialsFromImds,
} from '../../host/aws-credentials.ts';
import { StorageError } from '../../shared/errors.ts';
import { closedLoopbackPort } from '../harness/fauxqs.ts';
import { type FakeImds, IMDS_CREDENTIALS, IMDS_ROLE, startFakeImds } from './fake-imds.ts';

const ENV_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'env-secret' };

let imds: FakeImds;

beforeEach(async () => {
  imds = await startFakeImds();
});

afterEach(async () => {
  await imds.stop();
});

describe('credentialsFromEnvironment', () => {
  it('reads both keys and the session token', () => {
    expect(credentialsFromEnvironment({ ...ENV_KEYS, AWS_SESSION_TOKEN: 'tok' })).toEqual({
      accessKeyId: 'AKIDENV',
      secretAccessKey: 'env-secret',
      sessionToken: 'tok',
    });
  });

  it.each([
    [{ AWS_ACCESS_KEY_ID: 'AKIDENV' }],
    [{ AWS_SECRET_ACCESS_KEY: 'env-secret' }],
    [{ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 'env-secret' }],
  ])('returns undefined without both keys: %o', (env) => {
    expect(credentialsFromEnvironment(env)).toBeUndefined();
  });
});

describe('credentialsFromImds', () => {
  it('fetches a token, the role name, then the role credentials', async () => {
    const credentials = await credentialsFromImds(imds.endpoint);

    expect(credentials).toEqual(IMDS_CREDENTIALS);
    expect(imds.requests).toEqual([
      'PUT /latest/api/token',
      'GET /latest/meta-data/iam/security-credentials/',
      `GET /latest/meta-data/iam/security-credentials/${IMDS_ROLE}`,
    ]);
  });

  it('rejects an instance without a role', async () => {
    imds.setRoles('');

    const failure = credentialsFromImds(imds.endpoint);

    await expect(failure).rejects.toBeInstanceOf(StorageError);
    await expect(failure).rejects.toMatchObject({ cause: { message: /no IAM role/ } });
  });

  it('rejects a credential document whose Code is not Success', async () => {
    imds.setDocument({ Code: 'AssumeRoleUnauthorizedAccess' });

    await expect(credentialsFromImds(imds.endpoint)).rejects.toMatchObject({
      message: expect.stringContaining(imds.endpoint),
      cause: { message: expect.stringContaining('AssumeRoleUnauthorizedAccess') },
    });
  });

  it('names the endpoint when IMDS is unreachable', async () => {
    const endpoint = `http://127.0.0.1:${await closedLoopbackPort()}`;

    await expect(credentialsFromImds(endpoint)).rejects.toThrow(endpoint);
  });
});

describe('createCredentialProvider', () => {
  it('prefers the environment and asks IMDS nothing', async () => {
    const provide = createCredentialProvider({
      ...ENV_KEYS,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    });

    expect(await provide()).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'env-secret' });
    expect(imds.requests).toEqual([]);
  });

  it('falls back to IMDS and caches its answer for the run', async () => {
    const provide = createCredentialProvider({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });

    const first = await provide();
    const second = await provide();

    expect(first).toEqual(IMDS_CREDENTIALS);
    expect(second).toBe(first);
    expect(imds.requests).toHaveLength(3);
  });

  it('asks IMDS again after a failed attempt', async () => {
    imds.setRoles('');
    const provide = createCredentialProvider({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint });
    await expect(provide()).rejects.toBeInstanceOf(StorageError);
    imds.setRoles(`${IMDS_ROLE}\n`);

    expect(await provide()).toEqual(IMDS_CREDENTIALS);
  });

  it('rejects without asking IMDS when AWS_EC2_METADATA_DISABLED is true', async () => {
    const provide = createCredentialProvider({
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.endpoint,
    });

    await expect(provide()).rejects.toThrow(/AWS_EC2_METADATA_DISABLED/);
    expect(imds.requests).toEqual([]);
  });
});
