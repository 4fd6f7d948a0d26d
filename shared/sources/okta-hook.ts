// The Okta event hook: verification GET, header-secret check, envelope validation, inbox write.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { Log } from '../log.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { errorResponse, type HttpRequest, type HttpResponse, noteRejection, readJsonBody } from './http.ts';
import { deliverySchema, inboxKeyOf, skipReason, toInboxEntry } from './okta-events.ts';

export interface OktaHookDeps {
  /** Header Okta sends the secret in (the "Authentication field"), lower case. */
  authHeader: string;
  /** The "Authentication secret"; resolved from SSM by the caller. */
  secret: string;
  inbox: ObjectStore;
  log: Log;
  now?: () => Date;
  /** Called with the reason of each rejected request, for the rejection metric. */
  onRejected?: (reason: string) => void;
}

/** What one delivery did, for the log line and the metrics. */
export interface DeliveryCounts {
  stored: number;
  duplicates: number;
  ignored: Record<string, number>;
}

/**
 * Handles one request to the hook URL. Only authentication, validation and the inbox write happen
 * here, so Okta's 3-second budget is never at risk; the directory work runs from the inbox.
 */
export async function handleOktaHook(request: HttpRequest, deps: OktaHookDeps): Promise<HttpResponse> {
  if (!isAuthorized(request, deps)) {
    noteRejection(deps, 'unauthorized', { method: request.method });
    return errorResponse(401, `missing or wrong ${deps.authHeader} header`);
  }
  const method = request.method.toUpperCase();
  if (method === 'GET') return answerVerification(request);
  if (method !== 'POST')
    return errorResponse(405, `method ${method} is not allowed; Okta sends GET and POST`);
  return acceptDelivery(request, deps);
}

/** Okta's one-time verification: echo the challenge header back as JSON. */
function answerVerification(request: HttpRequest): HttpResponse {
  const challenge = request.headers['x-okta-verification-challenge'];
  if (!challenge) return errorResponse(400, 'missing x-okta-verification-challenge header');
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ verification: challenge }),
  };
}

async function acceptDelivery(request: HttpRequest, deps: OktaHookDeps): Promise<HttpResponse> {
  const body = readJsonBody(request);
  if (!body.ok) {
    noteRejection(deps, body.reason);
    return body.response;
  }
  const document = body.document;
  const delivery = deliverySchema.safeParse(document);
  if (!delivery.success) {
    const issue = delivery.error.issues[0];
    const field = issue?.path.join('.') || '(root)';
    noteRejection(deps, 'invalid-envelope', { field });
    return errorResponse(400, `invalid delivery: ${field} ${issue?.message ?? 'is invalid'}`);
  }

  const counts = await storeEvents(delivery.data, deps);
  deps.log.info('delivery accepted', { deliveryId: delivery.data.eventId, ...counts });
  return { statusCode: 200 };
}

async function storeEvents(
  delivery: { eventId: string; data: { events: Parameters<typeof skipReason>[0][] } },
  deps: OktaHookDeps,
): Promise<DeliveryCounts> {
  const counts: DeliveryCounts = { stored: 0, duplicates: 0, ignored: {} };
  const receivedAt = (deps.now ?? (() => new Date()))();

  await Promise.all(
    delivery.data.events.map(async (event) => {
      const reason = skipReason(event);
      if (reason) {
        counts.ignored[reason] = (counts.ignored[reason] ?? 0) + 1;
        return;
      }
      // Keyed by the event uuid, so a retried delivery, or one event in two deliveries, stores nothing new.
      const entry = toInboxEntry(event, delivery.eventId, receivedAt);
      const created = await deps.inbox.putIfAbsent(inboxKeyOf(event.uuid), JSON.stringify(entry));
      if (created) counts.stored++;
      else counts.duplicates++;
    }),
  );
  return counts;
}

/** Compares digests of the header and the secret, so neither length nor content leaks through timing. */
function isAuthorized(request: HttpRequest, deps: OktaHookDeps): boolean {
  const presented = request.headers[deps.authHeader];
  if (presented === undefined || deps.secret === '') return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(deps.secret));
}
