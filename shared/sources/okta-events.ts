// Okta event hook deliveries: the envelope schema, the event types fleet-login acts on, inbox entries.

import { z } from 'zod';

/**
 * Event types whose targets get reconciled. Each names a user whose current state is read back
 * from the Okta Users API, so the type only decides whether to look, never what to write.
 */
export const HANDLED_EVENT_TYPES = new Set([
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.lifecycle.reactivate',
  'user.lifecycle.deactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.lifecycle.delete.initiated',
  'user.account.update_profile',
  'group.user_membership.add',
  'group.user_membership.remove',
  'group.lifecycle.create',
  'group.lifecycle.delete',
  'group.profile.update',
]);

/**
 * Group events whose members are reconciled. Membership events name the user too, and reconciling
 * the user covers them; a rename or delete changes every member's groups at once.
 */
export const GROUP_EVENT_TYPES = new Set([
  'group.lifecycle.create',
  'group.lifecycle.delete',
  'group.profile.update',
]);

/** Event uuids become object keys, so they are held to a safe alphabet. */
const EVENT_UUID = /^[A-Za-z0-9_-]{1,100}$/;

const targetSchema = z.object({
  id: z.string().min(1).max(100),
  type: z.string().min(1),
  alternateId: z.string().nullish(),
  displayName: z.string().nullish(),
});

const eventSchema = z.object({
  uuid: z.string().regex(EVENT_UUID, 'must be 1-100 letters, digits, dashes or underscores'),
  published: z.iso.datetime({ offset: true }),
  eventType: z.string().min(1).max(200),
  actor: targetSchema.partial().nullish(),
  target: z.array(targetSchema).max(50).nullish(),
  outcome: z.object({ result: z.string().nullish(), reason: z.string().nullish() }).nullish(),
});

export const deliverySchema = z.object({
  eventType: z.literal('com.okta.event_hook'),
  eventId: z.string().min(1).max(100),
  eventTime: z.string().optional(),
  data: z.object({ events: z.array(eventSchema).max(1000) }),
});

export type OktaEvent = z.infer<typeof eventSchema>;

/** Inbox record of one event: ids and times, never profile data or the raw body. */
export interface InboxEntry {
  source: 'okta';
  uuid: string;
  eventType: string;
  published: string;
  receivedAt: string;
  deliveryId: string;
  actor?: { id?: string | null; type?: string | null; alternateId?: string | null };
  /** Okta user ids the event names. */
  userIds: string[];
  /** Okta groups a group event names, with the display name the event carried. */
  groups?: { id: string; name: string }[];
}

/** Returns why the event is skipped, or undefined when it should reach the inbox. */
export function skipReason(event: OktaEvent): 'unhandled-type' | 'not-successful' | 'no-target' | undefined {
  if (!HANDLED_EVENT_TYPES.has(event.eventType)) return 'unhandled-type';
  // Okta's samples show SUCCESS; anything else (FAILURE, DENY…) means the change did not happen.
  if (event.outcome?.result && event.outcome.result !== 'SUCCESS') return 'not-successful';
  if (userIdsOf(event).length === 0 && groupsOf(event).length === 0) return 'no-target';
  return undefined;
}

/** Selects targets by type, never by position: Okta does not promise an order. */
export function userIdsOf(event: OktaEvent): string[] {
  return (event.target ?? []).filter((target) => target.type === 'User').map((target) => target.id);
}

export function inboxKeyOf(uuid: string): string {
  return `inbox/okta/${uuid}.json`;
}

export function toInboxEntry(event: OktaEvent, deliveryId: string, receivedAt: Date): InboxEntry {
  return {
    source: 'okta',
    uuid: event.uuid,
    eventType: event.eventType,
    published: event.published,
    receivedAt: receivedAt.toISOString(),
    deliveryId,
    actor: { id: event.actor?.id, type: event.actor?.type, alternateId: event.actor?.alternateId },
    userIds: userIdsOf(event),
    ...(GROUP_EVENT_TYPES.has(event.eventType) ? { groups: groupsOf(event) } : {}),
  };
}

/** Returns the UserGroup targets of a group lifecycle or profile event. */
function groupsOf(event: OktaEvent): { id: string; name: string }[] {
  if (!GROUP_EVENT_TYPES.has(event.eventType)) return [];
  return (event.target ?? [])
    .filter((target) => target.type === 'UserGroup')
    .map((target) => ({ id: target.id, name: target.displayName ?? target.alternateId ?? target.id }));
}
