// The HTTP request and response shapes the webhook handlers take, independent of API Gateway.

import type { Log } from '../log.ts';

/** Largest webhook body accepted, in bytes; Okta batches events, and real deliveries stay far below. */
export const MAX_WEBHOOK_BODY_BYTES = 256 * 1024;

export interface HttpRequest {
  method: string;
  /** Header names in lower case, as API Gateway HTTP API payload 2.0 delivers them. */
  headers: Readonly<Record<string, string | undefined>>;
  body?: string;
  isBase64Encoded?: boolean;
}

export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** Returns the raw body bytes exactly as sent, decoding API Gateway's base64 wrapping. */
export function rawBody(request: HttpRequest): Buffer {
  if (request.body === undefined) return Buffer.alloc(0);
  return request.isBase64Encoded ? Buffer.from(request.body, 'base64') : Buffer.from(request.body, 'utf8');
}

/** Builds a JSON error response. Webhook senders log the body, so it names the problem and nothing secret. */
export function errorResponse(statusCode: number, message: string): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: message }),
  };
}

/** Either the parsed JSON document, or the response to send when the body is too large or not JSON. */
export type JsonBody =
  | { ok: true; raw: Buffer; document: unknown }
  | { ok: false; response: HttpResponse; reason: string };

/** Checks the raw body's size, then parses it as JSON. Signature checks run on `raw` before the caller trusts `document`. */
export function readJsonBody(request: HttpRequest): JsonBody {
  const raw = rawBody(request);
  if (raw.length > MAX_WEBHOOK_BODY_BYTES) {
    const response = errorResponse(
      413,
      `body is ${raw.length} bytes; the limit is ${MAX_WEBHOOK_BODY_BYTES}`,
    );
    return { ok: false, response, reason: 'too-large' };
  }
  try {
    return { ok: true, raw, document: JSON.parse(raw.toString('utf8')) };
  } catch {
    return { ok: false, response: errorResponse(400, 'body is not valid JSON'), reason: 'malformed-json' };
  }
}

/** Logger and callback the webhook handlers use to report a rejected request. */
export interface RejectionSink {
  log: Log;
  /** Called once per rejected request with its reason, e.g. to count it in a metric. */
  onRejected?: (reason: string) => void;
}

/** Logs a rejected request with its reason (never the body) and reports it to `onRejected`. */
export function noteRejection(
  sink: RejectionSink,
  reason: string,
  fields: Record<string, unknown> = {},
): void {
  sink.log.warn('webhook rejected', { reason, ...fields });
  sink.onRejected?.(reason);
}
