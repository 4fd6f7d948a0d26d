// Host classes: who may log in to each class of hosts, with which shell, and which sudo rights.

import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../errors.ts';

/** Bundle lifetime when a class sets none: long enough to ride out a day-long control-plane outage. */
export const DEFAULT_BUNDLE_LIFETIME_HOURS = 72;

const sudoRuleSchema = z
  .object({
    group: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'must be a POSIX group name'),
    runAs: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+$|^ALL$/)
      .default('root'),
    commands: z
      .array(
        z
          .string()
          .min(1)
          // sudo needs a fully qualified path; visudo rejects `systemctl restart nginx` and every host would then reject the bundle.
          .regex(
            /^ALL$|^\/[^\s,:\\=]+( [^\n\r,:\\=]*)?$/,
            'must be ALL or an absolute path such as /usr/bin/systemctl, optionally with arguments',
          ),
      )
      .min(1),
    noPassword: z.boolean().default(true),
  })
  .strict();

const hostClassSchema = z
  .object({
    description: z.string().optional(),
    /** Groups whose members may log in; `*` admits every active person. */
    allowGroups: z.array(z.string().min(1)).min(1),
    shellOverride: z
      .string()
      .regex(/^\/[^\s:]*$/, 'must be an absolute path without spaces or colons')
      .optional(),
    sudo: z.array(sudoRuleSchema).default([]),
    emergencyKeys: z.boolean().default(false),
    bundleLifetimeHours: z
      .number()
      .positive()
      .max(24 * 30)
      .default(DEFAULT_BUNDLE_LIFETIME_HOURS),
  })
  .strict();

const policySchema = z
  .object({
    hostClasses: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and dashes'),
        hostClassSchema,
      )
      .refine((classes) => Object.keys(classes).length > 0, 'must define at least one host class'),
  })
  .strict();

export type SudoRule = z.infer<typeof sudoRuleSchema>;
export type HostClassPolicy = z.infer<typeof hostClassSchema> & { name: string };
export interface Policy {
  hostClasses: HostClassPolicy[];
}

/** Parses a policy file (YAML or JSON); errors name the file and the path of the invalid value. */
export function parsePolicy(text: string, source: string): Policy {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ValidationError(`${source} is not valid YAML or JSON`, undefined, { cause: error });
  }
  const result = policySchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    throw new ValidationError(`${source}: ${path} ${issue?.message ?? 'is invalid'}`, path);
  }
  return {
    hostClasses: Object.entries(result.data.hostClasses).map(([name, hostClass]) => ({ name, ...hostClass })),
  };
}

/** True when the class lets an active person in: `*`, or membership of an allowed group. */
export function admits(hostClass: HostClassPolicy, active: boolean, groups: readonly string[]): boolean {
  if (!active) return false;
  return hostClass.allowGroups.includes('*') || groups.some((group) => hostClass.allowGroups.includes(group));
}
