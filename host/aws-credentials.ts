// AWS credentials for the agent's S3 reads: the standard environment variables, else the instance
// profile through the EC2 instance metadata service (IMDSv2). Resolved once per process.

import { request } from 'node:http';
import { StorageError } from '../shared/errors.ts';
import type { AwsCredentials } from './sigv4.ts';

/** IMDS address on EC2; AWS_EC2_METADATA_SERVICE_ENDPOINT overrides it, as in the AWS SDKs and CLI. */
export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
/** Time for one IMDS request, the same as the AWS SDK's default (@smithy/credential-provider-imds 4). */
export const IMDS_TIMEOUT_MS = 1_000;
/** Lifetime of the IMDSv2 session token. A run uses it for three requests within a second or so. */
const IMDS_TOKEN_TTL_SECONDS = 60;

/** The parts of the environment the credential chain reads. */
type CredentialEnvironment = Record<string, string | undefined>;

/** Returns a function that resolves credentials on its first call and returns the same ones after. */
export function createCredentialProvider(
  env: CredentialEnvironment = process.env,
): () => Promise<AwsCredentials> {
  let pending: Promise<AwsCredentials> | undefined;
  return () => {
    // A failed attempt is not cached, so a retry within the run requests the credentials again.
    pending ??= resolveCredentials(env).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function resolveCredentials(env: CredentialEnvironment): Promise<AwsCredentials> {
  const fromEnvironment = credentialsFromEnvironment(env);
  if (fromEnvironment) return fromEnvironment;
  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === 'true') {
    throw new StorageError(
      'no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and AWS_EC2_METADATA_DISABLED turns off the instance profile',
    );
  }
  return credentialsFromImds(env.AWS_EC2_METADATA_SERVICE_ENDPOINT || DEFAULT_IMDS_ENDPOINT);
}

/** Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; undefined unless both keys are set. */
export function credentialsFromEnvironment(env: CredentialEnvironment): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken && { sessionToken }) };
}

/** Fetches the instance role's credentials: a session token, the role name, then the role's keys. */
export async function credentialsFromImds(endpoint: string): Promise<AwsCredentials> {
  const base = endpoint.replace(/\/+$/, '');
  try {
    const token = await imdsRequest('PUT', `${base}/latest/api/token`, {
      'x-aws-ec2-metadata-token-ttl-seconds': String(IMDS_TOKEN_TTL_SECONDS),
    });
    const auth = { 'x-aws-ec2-metadata-token': token };
    const roles = await imdsRequest('GET', `${base}/latest/meta-data/iam/security-credentials/`, auth);
    const role = roles.split('\n')[0]?.trim();
    if (!role) throw new Error('the instance has no IAM role (no instance profile attached)');
    const body = await imdsRequest('GET', `${base}/latest/meta-data/iam/security-credentials/${role}`, auth);
    return parseRoleCredentials(body);
  } catch (error) {
    throw new StorageError(`reading the instance profile's credentials from IMDS at ${base} failed`, {
      cause: error,
    });
  }
}

/** Parses IMDS's credential document; throws unless its Code is Success and both keys are there. */
function parseRoleCredentials(body: string): AwsCredentials {
  const document = JSON.parse(body) as Record<string, unknown>;
  const { Code: code, AccessKeyId: accessKeyId, SecretAccessKey: secretAccessKey, Token: token } = document;
  if (code !== 'Success') throw new Error(`IMDS returned credentials with Code ${String(code)}`);
  if (
    typeof accessKeyId !== 'string' ||
    typeof secretAccessKey !== 'string' ||
    !accessKeyId ||
    !secretAccessKey
  ) {
    throw new Error('IMDS returned credentials without AccessKeyId or SecretAccessKey');
  }
  return { accessKeyId, secretAccessKey, ...(typeof token === 'string' && token && { sessionToken: token }) };
}

/** Sends one request to IMDS and returns the body of a 200; any other outcome throws. */
function imdsRequest(method: string, url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers, timeout: IMDS_TIMEOUT_MS }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        if (response.statusCode === 200) resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(new Error(`${method} ${new URL(url).pathname} returned HTTP ${response.statusCode}`));
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`IMDS timed out after ${IMDS_TIMEOUT_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end();
  });
}
