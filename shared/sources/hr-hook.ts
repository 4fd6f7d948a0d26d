// The HR webhook: signature and freshness check on the raw bytes, payload validation, inbox write.

import type { Log } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { hrInboxKeyOf, parseHrPayload } from './hr-events.ts';
import { checkHrSignature } from './hr-signature.ts';
import { errorResponse, type HttpRequest, type HttpResponse, noteRejection, readJsonBody } from './http.ts';

export interface HrHookDeps {
  /** Active signing secrets; two during a rotation. */
  secrets: readonly string[];
  /** HR field that drives POSIX group membership (department by default). */
  groupField: string;
  inbox: ObjectStore;
  log: Log;
  now?: () => Date;
  /** Called with the reason of each rejected request, for the rejection metric. */
  onRejected?: (reason: string) => void;
}

/**
 * Handles one HR webhook delivery. Every rejection is a 4xx, which BambooHR never retries; a
 * failure to store raises, becoming a 5xx that it retries for hours.
 */
export async function handleHrHook(request: HttpRequest, deps: HrHookDeps): Promise<HttpResponse> {
  const method = request.method.toUpperCase();
  if (method !== 'POST')
    return errorResponse(405, `method ${method} is not allowed; the HR system sends POST`);
  const now = (deps.now ?? (() => new Date()))();

  const body = readJsonBody(request);
  if (!body.ok && body.reason === 'too-large') {
    noteRejection(deps, body.reason);
    return body.response;
  }
  // The signature covers the raw bytes, so it is checked before the body is trusted as JSON.
  const raw = body.ok
    ? body.raw
    : Buffer.from(request.body ?? '', request.isBase64Encoded ? 'base64' : 'utf8');
  const timestamp = request.headers['x-bamboohr-timestamp'];
  const problem = checkHrSignature(
    deps.secrets,
    raw,
    timestamp,
    request.headers['x-bamboohr-signature'],
    now,
  );
  if (problem) {
    noteRejection(deps, problem);
    return errorResponse(401, signatureMessage(problem));
  }
  if (!body.ok) {
    noteRejection(deps, body.reason);
    return body.response;
  }

  const parsed = parseHrPayload(body.document, deps.groupField, now);
  if (!parsed.ok) {
    noteRejection(deps, 'invalid-payload', { field: parsed.field });
    return errorResponse(400, `invalid HR payload: ${parsed.field} ${parsed.message}`);
  }

  let stored = 0;
  for (const entry of parsed.entries) {
    if (await deps.inbox.putIfAbsent(hrInboxKeyOf(entry.id), JSON.stringify(entry))) stored++;
  }
  deps.log.info('delivery accepted', { source: 'hr', stored, duplicates: parsed.entries.length - stored });
  return { statusCode: 200 };
}

function signatureMessage(problem: NonNullable<ReturnType<typeof checkHrSignature>>): string {
  switch (problem) {
    case 'missing-headers':
      return 'missing X-BambooHR-Timestamp or X-BambooHR-Signature header';
    case 'bad-signature':
      return 'X-BambooHR-Signature does not match the body and timestamp';
    case 'bad-timestamp':
      return 'X-BambooHR-Timestamp is neither ISO-8601 nor Unix seconds';
    case 'stale-timestamp':
      return 'X-BambooHR-Timestamp is more than 5 minutes from now';
  }
}
