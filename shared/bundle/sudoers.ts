// Renders a host class's sudo rules as a sudoers drop-in.

import type { SudoRule } from '../policy/policy.ts';

/**
 * Renders one line per rule: `%group ALL=(runAs) NOPASSWD: /cmd, /cmd`. Returns undefined for a
 * class without rules, so its bundle carries no drop-in and hosts keep no stale one. The policy
 * schema already rejects names and commands that could break out of a line.
 */
export function renderSudoers(hostClass: string, rules: readonly SudoRule[]): Buffer | undefined {
  if (rules.length === 0) return undefined;
  const lines = [`# fleet-login: sudo rules of host class ${hostClass}; generated, do not edit.`];
  for (const rule of rules) {
    const tag = rule.noPassword ? 'NOPASSWD: ' : '';
    lines.push(`%${rule.group} ALL=(${rule.runAs}) ${tag}${rule.commands.join(', ')}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}
