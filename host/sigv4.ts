// AWS Signature Version 4 for the agent's S3 GET requests, on node:crypto alone, so that a sync
// does not load the AWS SDK. Covers requests without a query string and with an empty body.

import { createHash, createHmac } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface UnsignedRequest {
  method: string;
  /** The Host header's value, with the port when it is not the scheme's default. */
  host: string;
  /** The URI-encoded path, e.g. `/bucket/manifests/general.json`; S3 signs it without encoding it again. */
  path: string;
  /** Headers to sign besides host, x-amz-date, x-amz-content-sha256 and x-amz-security-token. */
  headers: Record<string, string>;
}

/** SHA-256 of an empty body, which S3 requires in x-amz-content-sha256 for a GET. */
export const EMPTY_BODY_SHA256 = createHash('sha256').update('').digest('hex');

/**
 * Returns every header the request needs, the Authorization header included, signed for `service`
 * in `region` at `now`.
 */
export function signRequest(
  request: UnsignedRequest,
  credentials: AwsCredentials,
  scope: { region: string; service: string },
  now: Date,
): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...lowerCaseKeys(request.headers),
    host: request.host,
    'x-amz-content-sha256': EMPTY_BODY_SHA256,
    'x-amz-date': amzDate,
    ...(credentials.sessionToken !== undefined && { 'x-amz-security-token': credentials.sessionToken }),
  };

  // 1. The canonical request: method, path, an empty query, the sorted headers and the body hash.
  const names = Object.keys(headers).sort();
  const canonicalHeaders = names.map(
    (name) => `${name}:${(headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`,
  );
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    request.method,
    request.path,
    '',
    canonicalHeaders.join(''),
    signedHeaders,
    EMPTY_BODY_SHA256,
  ].join('\n');

  // 2. The string to sign names the scope, so a signature is valid for one day, region and service.
  const credentialScope = `${day}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');

  // 3. The signing key is derived from the secret through the same scope.
  let key: Buffer = hmac(`AWS4${credentials.secretAccessKey}`, day);
  for (const part of [scope.region, scope.service, 'aws4_request']) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');

  headers.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}

/** Encodes an object key for the request path: RFC 3986 per segment, with `/` kept. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((segment) =>
      encodeURIComponent(segment).replace(
        /[!'()*]/g,
        (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
      ),
    )
    .join('/');
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
