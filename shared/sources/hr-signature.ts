// BambooHR-style webhook signatures: HMAC-SHA256 over the raw body bytes followed by the timestamp header.

import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a timestamp may be from now, either way: replays older than this are rejected. */
export const HR_TIMESTAMP_WINDOW_MS = 5 * 60 * 1000;

export type SignatureProblem = 'missing-headers' | 'bad-signature' | 'stale-timestamp' | 'bad-timestamp';

/** Computes the lowercase hex signature BambooHR sends in X-BambooHR-Signature. */
export function signHrBody(secret: string, body: Buffer, timestamp: string): string {
  return createHmac('sha256', secret).update(body).update(timestamp, 'utf8').digest('hex');
}

/**
 * Checks the signature against every active secret (two during a rotation) in constant time, then
 * the timestamp's freshness. The timestamp is signed as the exact header text; for freshness it is
 * read as ISO-8601 or as Unix seconds, since BambooHR's samples show both.
 */
export function checkHrSignature(
  secrets: readonly string[],
  body: Buffer,
  timestamp: string | undefined,
  signature: string | undefined,
  now: Date,
): SignatureProblem | undefined {
  if (!timestamp || !signature) return 'missing-headers';
  if (!/^[0-9a-fA-F]{64}$/.test(signature)) return 'bad-signature';
  const presented = Buffer.from(signature.toLowerCase(), 'hex');
  const matches = secrets
    .filter((secret) => secret !== '')
    .map((secret) => timingSafeEqual(Buffer.from(signHrBody(secret, body, timestamp), 'hex'), presented));
  if (!matches.includes(true)) return 'bad-signature';

  const sentAt = parseTimestamp(timestamp);
  if (sentAt === undefined) return 'bad-timestamp';
  if (Math.abs(now.getTime() - sentAt) > HR_TIMESTAMP_WINDOW_MS) return 'stale-timestamp';
  return undefined;
}

/** Reads Unix seconds (10 digits) or an ISO-8601 time such as 2026-12-01T10:20:00+0000. */
export function parseTimestamp(text: string): number | undefined {
  if (/^\d{9,11}$/.test(text)) return Number(text) * 1000;
  // ISO-8601 with a +hhmm offset is not accepted by Date.parse in every engine; add the colon.
  const normalised = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const parsed = Date.parse(normalised);
  return /^\d{4}-\d{2}-\d{2}T/.test(text) && Number.isFinite(parsed) ? parsed : undefined;
}
