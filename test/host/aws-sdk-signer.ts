// Test helper: signs a request with the AWS SDK's own SigV4 signer (@smithy/signature-v4, installed
// with @aws-sdk/client-s3), configured as the S3 client configures it, to derive expected signatures.

import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentials } from '../../host/sigv4.ts';

/** SHA-256 or, given a secret, HMAC-SHA256, in the shape the SDK's signer expects. */
class NodeSha256 {
  private readonly hash: Hash | Hmac;

  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

function toBytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface RequestToSign {
  hostname: string;
  port?: number;
  path: string;
  headers: Record<string, string>;
}

/** Returns the headers the SDK's signer produces for a GET with an empty body. */
export async function signWithSdk(
  request: RequestToSign,
  credentials: AwsCredentials,
  region: string,
  signingDate: Date,
): Promise<Record<string, string>> {
  // S3 signs the path as sent (no second encoding) and requires x-amz-content-sha256.
  const signer = new SignatureV4({
    credentials,
    region,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: request.hostname,
      ...(request.port !== undefined && { port: request.port }),
      path: request.path,
      query: {},
      headers: { ...request.headers },
    },
    { signingDate },
  );
  return signed.headers;
}

/** Returns the Signature=… part of an Authorization header. */
export function signatureOf(authorization: string | undefined): string | undefined {
  return /Signature=([0-9a-f]{64})$/.exec(authorization ?? '')?.[1];
}
