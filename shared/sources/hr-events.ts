// HR webhook payloads (BambooHR style), both the event-based and the field-based form, normalised.

import { createHash } from 'node:crypto';
import { z } from 'zod';

/** The HR fields fleet-login reads, under fleet-login's names. */
export interface HrFields {
  workEmail?: string;
  employeeNumber?: string;
  status?: string;
  /** BambooHR's separate employment status field; either status saying inactive ends access. */
  employmentStatus?: string;
  terminationDate?: string;
  /** Value of the configured group field (department by default). */
  group?: string;
}

/** One employee change, as the inbox keeps it: ids, times and the few fields above, never the raw body. */
export interface HrInboxEntry {
  source: 'hr';
  id: string;
  employeeId: string;
  action: 'created' | 'updated' | 'deleted';
  eventTime: string;
  receivedAt: string;
  /** Present for field-based deliveries; event-based ones carry ids only and are read back from the HR API. */
  fields?: HrFields;
}

const id = z
  .union([z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), z.number().int().nonnegative()])
  .transform(String);

const eventBasedSchema = z.object({
  type: z.enum(['employee.created', 'employee.updated', 'employee.update', 'employee.deleted']),
  timestamp: z.string().min(1).max(64),
  data: z.object({
    companyId: z.union([z.string(), z.number()]).optional(),
    employeeId: id,
    changedFields: z.array(z.string()).max(500).optional(),
  }),
});

const fieldBasedSchema = z.object({
  employees: z
    .array(
      z.object({
        id,
        action: z.enum(['Created', 'Updated', 'Deleted']),
        timestamp: z.string().min(1).max(64),
        changedFields: z.array(z.string()).max(500).optional(),
        fields: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).optional(),
      }),
    )
    .min(1)
    .max(500),
});

/** Field names as BambooHR's English names or API aliases, folded to lower case letters and digits. */
const FIELD_NAMES: Readonly<Record<string, keyof HrFields>> = Object.assign(Object.create(null), {
  workemail: 'workEmail',
  employee: 'employeeNumber',
  employeenumber: 'employeeNumber',
  status: 'status',
  employmentstatus: 'employmentStatus',
  employmenthistorystatus: 'employmentStatus',
  terminationdate: 'terminationDate',
}) as Record<string, keyof HrFields>;

export type HrParseResult =
  | { ok: true; entries: HrInboxEntry[] }
  | { ok: false; field: string; message: string };

/** Validates either payload form; `groupField` names the HR field that drives POSIX group membership. */
export function parseHrPayload(document: unknown, groupField: string, receivedAt: Date): HrParseResult {
  const received = receivedAt.toISOString();
  const eventBased = eventBasedSchema.safeParse(document);
  if (eventBased.success) {
    const { type, timestamp, data } = eventBased.data;
    let action: HrInboxEntry['action'] = 'updated';
    if (type === 'employee.created') action = 'created';
    if (type === 'employee.deleted') action = 'deleted';
    return { ok: true, entries: [entry(data.employeeId, action, timestamp, received)] };
  }
  const fieldBased = fieldBasedSchema.safeParse(document);
  if (fieldBased.success) {
    const entries = fieldBased.data.employees.map((employee) => {
      const action = employee.action.toLowerCase() as HrInboxEntry['action'];
      return entry(
        employee.id,
        action,
        employee.timestamp,
        received,
        normaliseFields(employee.fields ?? {}, groupField),
      );
    });
    return { ok: true, entries };
  }
  // Report against the form the body resembles most, so the message names a real field.
  const closest =
    typeof document === 'object' && document !== null && 'employees' in document ? fieldBased : eventBased;
  const issue = closest.error?.issues[0];
  return { ok: false, field: issue?.path.join('.') || '(root)', message: issue?.message ?? 'is invalid' };
}

function entry(
  employeeId: string,
  action: HrInboxEntry['action'],
  eventTime: string,
  receivedAt: string,
  fields?: HrFields,
): HrInboxEntry {
  // Identical redeliveries hash to the same id, so a retried webhook stores nothing new.
  const id = createHash('sha256')
    .update(JSON.stringify([employeeId, action, eventTime, fields ?? null]))
    .digest('hex')
    .slice(0, 32);
  return { source: 'hr', id, employeeId, action, eventTime, receivedAt, ...(fields ? { fields } : {}) };
}

/** Keeps only the fields fleet-login uses; everything else in the payload is dropped. */
export function normaliseFields(fields: Record<string, unknown>, groupField: string): HrFields {
  const wantedGroup = fold(groupField);
  const result: HrFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined || value === '') continue;
    const folded = fold(name);
    if (folded === wantedGroup) result.group = String(value);
    const target = FIELD_NAMES[folded];
    if (target && target !== 'group') result[target] = String(value);
  }
  return result;
}

function fold(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function hrInboxKeyOf(id: string): string {
  return `inbox/hr/${id}.json`;
}
