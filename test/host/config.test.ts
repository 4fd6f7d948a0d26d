// The agent's default staleness limit against the publisher's re-sign interval and the poll timer.

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_STALENESS_SECONDS, POLL_INTERVAL_SECONDS } from '../../host/config.ts';
import { RESIGN_AFTER_LIFETIME_SHARE } from '../../shared/bundle/publish.ts';
import { DEFAULT_BUNDLE_LIFETIME_HOURS } from '../../shared/policy/policy.ts';

const TIMER_UNIT = new URL('../../host/units/fleet-login-agent.timer', import.meta.url);
/** Seconds between runs for the systemd calendar shorthands the timer may use. */
const CALENDAR_PERIOD_SECONDS: Record<string, number> = { minutely: 60, hourly: 3_600 };

describe('agent staleness default', () => {
  it('exceeds the re-sign interval plus one poll', () => {
    const resignSeconds = DEFAULT_BUNDLE_LIFETIME_HOURS * 3_600 * RESIGN_AFTER_LIFETIME_SHARE;

    expect(DEFAULT_MAX_STALENESS_SECONDS).toBeGreaterThan(resignSeconds + POLL_INTERVAL_SECONDS);
  });

  it('counts the poll interval the timer unit sets', async () => {
    const timer = await readFile(TIMER_UNIT, 'utf8');
    const calendar = timer.match(/^OnCalendar=(\S+)$/m)?.[1] ?? '';

    expect(CALENDAR_PERIOD_SECONDS[calendar]).toBe(POLL_INTERVAL_SECONDS);
  });
});
