// Builds Okta event hook deliveries shaped as Okta sends them, for the demo, `npm start` and tests.

import { randomUUID } from 'node:crypto';
import { signHrBody } from '../shared/sources/hr-signature.ts';

export interface DeliveryEvent {
  eventType: string;
  userId: string;
  login: string;
  /** Group display name for membership events. */
  group?: string;
  /** Overrides the event uuid, to replay an event. */
  uuid?: string;
  published?: string;
}

const ACTOR = {
  id: '00uLOCALADMIN',
  type: 'User',
  alternateId: 'admin@example.test',
  displayName: 'Local Admin',
};

/** Wraps events in the event hook envelope (CloudEvents 0.1 style). */
export function oktaDelivery(events: readonly DeliveryEvent[]): Record<string, unknown> {
  return {
    eventType: 'com.okta.event_hook',
    eventTypeVersion: '1.0',
    cloudEventsVersion: '0.1',
    contentType: 'application/json',
    source: 'https://example.okta.test/api/v1/eventHooks/whoLOCAL',
    eventId: randomUUID(),
    eventTime: new Date().toISOString(),
    data: { events: events.map(logEvent) },
  };
}

function logEvent(event: DeliveryEvent): Record<string, unknown> {
  const target: Record<string, unknown>[] = [
    { id: event.userId, type: 'User', alternateId: event.login, displayName: event.login },
  ];
  if (event.group)
    target.push({
      id: `00g${event.group}`,
      type: 'UserGroup',
      alternateId: 'unknown',
      displayName: event.group,
    });
  return {
    uuid: event.uuid ?? randomUUID(),
    published: event.published ?? new Date().toISOString(),
    eventType: event.eventType,
    version: '0',
    severity: 'INFO',
    displayMessage: event.eventType,
    actor: ACTOR,
    outcome: { result: 'SUCCESS', reason: null },
    target,
  };
}

/** POSTs a delivery to the hook with the auth header, as Okta does. */
export async function postDelivery(hookUrl: string, secret: string, delivery: unknown): Promise<Response> {
  return fetch(hookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: secret },
    body: JSON.stringify(delivery),
  });
}

/** POSTs an HR webhook body signed as BambooHR signs it: HMAC-SHA256 over the body, then the timestamp. */
export async function postHrDelivery(hookUrl: string, secret: string, body: string): Promise<Response> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return fetch(hookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-bamboohr-timestamp': timestamp,
      'x-bamboohr-signature': signHrBody(secret, Buffer.from(body), timestamp),
    },
    body,
  });
}
