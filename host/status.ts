// `status`: what is installed, how old it is, and how the last sync went.

import type { AgentConfig } from './config.ts';
import { agentLayout } from './layout.ts';
import {
  type InstalledBundle,
  InstalledManifestError,
  readAgentState,
  readInstalledBundle,
} from './state.ts';

export interface StatusReport {
  /** The host class from the config, which may differ from the installed bundle's after a move. */
  configuredHostClass: string;
  installed?: {
    hostClass: string;
    serial: number;
    issuedAt: string;
    expiresAt: string;
    /** Seconds since the bundle was issued: how stale the host's view of the directory is. */
    ageSeconds: number;
    expired: boolean;
  };
  /** The reason the installed manifest cannot be read, naming the file; `installed` is then absent. */
  installedError?: string;
  /** True when nothing readable is installed, or the bundle is expired or older than maxStalenessSeconds. */
  stale: boolean;
  maxStalenessSeconds: number;
  lastSuccessAt?: string;
  lastError?: { at: string; check?: string; message: string };
}

/** Reads the installed bundle and state.json into a report; an unreadable manifest is reported, not raised. */
export async function readStatus(config: AgentConfig, now: Date = new Date()): Promise<StatusReport> {
  const layout = agentLayout(config.root);
  const [read, state] = await Promise.all([readBundleOrError(layout), readAgentState(layout)]);
  const report: StatusReport = {
    configuredHostClass: config.hostClass,
    installedError: read.error,
    stale: true,
    maxStalenessSeconds: config.maxStalenessSeconds,
    lastSuccessAt: state.lastSuccessAt,
    lastError: state.lastError,
  };
  const bundle = read.bundle;
  if (!bundle) return report;

  const ageSeconds = Math.max(0, Math.round((now.getTime() - Date.parse(bundle.issuedAt)) / 1000));
  const expired = Date.parse(bundle.expiresAt) <= now.getTime();
  const { hostClass, serial, issuedAt, expiresAt } = bundle;
  report.installed = { hostClass, serial, issuedAt, expiresAt, ageSeconds, expired };
  report.stale = expired || ageSeconds > config.maxStalenessSeconds;
  return report;
}

async function readBundleOrError(
  layout: ReturnType<typeof agentLayout>,
): Promise<{ bundle?: InstalledBundle; error?: string }> {
  try {
    return { bundle: await readInstalledBundle(layout) };
  } catch (error) {
    if (error instanceof InstalledManifestError) return { error: error.message };
    throw error;
  }
}

/** Renders the report for a person at a terminal. */
export function formatStatus(report: StatusReport): string {
  const lines = [`host class:   ${report.configuredHostClass}`];
  const bundle = report.installed;
  if (bundle) {
    const classNote =
      bundle.hostClass === report.configuredHostClass ? '' : ` (bundle is for ${bundle.hostClass})`;
    lines.push(
      `serial:       ${bundle.serial}${classNote}`,
      `issued at:    ${bundle.issuedAt} (age ${formatDuration(bundle.ageSeconds)})`,
      `expires at:   ${bundle.expiresAt}${bundle.expired ? ' (expired)' : ''}`,
    );
  } else if (report.installedError) {
    lines.push(`serial:       unknown: ${report.installedError}`);
  } else {
    lines.push('serial:       none installed');
  }
  lines.push(
    `stale:        ${report.stale ? 'yes' : 'no'} (limit ${formatDuration(report.maxStalenessSeconds)})`,
  );
  lines.push(`last success: ${report.lastSuccessAt ?? 'never'}`);
  const error = report.lastError;
  const errorText = error ? `${error.at} ${error.check ? `[${error.check}] ` : ''}${error.message}` : 'none';
  lines.push(`last error:   ${errorText}`);
  return `${lines.join('\n')}\n`;
}

function formatDuration(seconds: number): string {
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3_600);
  const minutes = Math.floor((seconds % 3_600) / 60);
  const parts = [days && `${days}d`, hours && `${hours}h`, minutes && `${minutes}m`, `${seconds % 60}s`];
  return parts.filter(Boolean).join(' ');
}
