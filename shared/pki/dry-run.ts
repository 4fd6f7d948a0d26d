// The dry-run report: each active certificate with its expiry and renewal time, and the step a run would take.

import type { PkiConfig } from './config.ts';
import { loadActiveCertificates, nextRotationStep, summarizeCertificates } from './plan.ts';
import type { SsmCertificateStore } from './store.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Reads the active certificates and describes, without writing anything, what a run at `now` would do. */
export async function describeRotationPlan(
  store: SsmCertificateStore,
  config: PkiConfig,
  now: Date,
): Promise<string> {
  const active = await loadActiveCertificates(store);
  const step = nextRotationStep(active, config, now);
  const lines = [`Certificates under ${config.prefix} at ${now.toISOString()} (dry run: nothing is written)`];
  if (active === undefined) {
    lines.push(
      'No active certificates: a run would create the root CA, the client and the server certificate.',
    );
    return `${lines.join('\n')}\n`;
  }

  const rows = summarizeCertificates(active, config, now).map((summary) => [
    summary.slot,
    summary.subject,
    summary.notAfter.toISOString(),
    `${Math.floor((summary.notAfter.getTime() - now.getTime()) / DAY_MS)}`,
    summary.renewAt.toISOString(),
    summary.renewalDue ? 'yes' : 'no',
  ]);
  lines.push(
    ...formatTable([['certificate', 'subject', 'expires', 'days left', 'renew at', 'renewal due'], ...rows]),
  );

  const rotation = active.state.caRotation;
  if (rotation !== undefined) {
    const nextAt = new Date(Date.parse(rotation.since) + config.trustOverlapMs).toISOString();
    lines.push(
      `CA rotation in phase ${rotation.phase} since ${rotation.since}; its next step is due at ${nextAt}.`,
    );
  }
  lines.push(
    step ? `A run now would start with: ${step.kind} (${step.reason}).` : 'A run now would change nothing.',
  );
  return `${lines.join('\n')}\n`;
}

function formatTable(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}
