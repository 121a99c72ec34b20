import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  periodMessage,
  sessionMessage,
  summaryDue,
  summaryMessage,
} from '../../controller/src/modules/attendance/integrations/log-messages.js';
import {
  planAllows,
  presentSubscription,
  tierOf,
} from '../../controller/src/modules/attendance/integrations/plan.js';

describe('log messages', () => {
  it('formats durations in whole seconds', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(9_999)).toBe('9s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_723_000)).toBe('1h 02m 03s');
    expect(formatDuration(90_000_000)).toBe('25h 00m 00s');
    expect(formatDuration(-5)).toBe('0s');
  });

  it('mentions users and channels; says whether the session is signed', () => {
    expect(
      sessionMessage({
        userId: '11111',
        channelId: '22222',
        activeMs: 600_000,
        pausedMs: 61_000,
        signed: true,
      }),
    ).toBe('Session: <@11111> spent 10m 00s in <#22222> (1m 01s paused); signed.');
    expect(
      sessionMessage({ userId: '11111', channelId: '22222', activeMs: 5_000, pausedMs: 0, signed: false }),
    ).toContain('not signed yet');
  });

  it('lists the top of a period, or says there was nothing', () => {
    const period = {
      periodIndex: 4,
      startedAt: '2026-03-01T00:00:00.000Z',
      endedAt: '2026-03-02T00:00:00.000Z',
      sessions: 1,
      signed: true,
    };
    expect(periodMessage(period, [{ rank: 1, userId: '11111', activeMs: 60_000 }])).toBe(
      'Period 4 archived (2026-03-01 00:00 UTC to 2026-03-02 00:00 UTC): 1 session, signed.\nTop members:\n1. <@11111> 1m 00s',
    );
    expect(periodMessage({ ...period, sessions: 0 }, [])).toContain('No tracked voice time.');
    expect(summaryMessage('weekly', 2, [])).toBe('Weekly summary, period 2: no tracked voice time yet.');
  });
});

describe('summaryDue', () => {
  const at = (iso: string) => new Date(iso);
  it('is due once a calendar boundary of the frequency has passed since the last summary', () => {
    expect(summaryDue('off', 'UTC', at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))).toBe(false);
    expect(summaryDue('hourly', 'UTC', at('2026-03-02T10:59:00Z'), at('2026-03-02T10:59:59Z'))).toBe(false);
    expect(summaryDue('hourly', 'UTC', at('2026-03-02T10:59:00Z'), at('2026-03-02T11:00:00Z'))).toBe(true);
    // Daily at local midnight: Berlin is UTC+1 in March, UTC+2 after 29 March.
    expect(summaryDue('daily', 'Europe/Berlin', at('2026-03-02T12:00:00Z'), at('2026-03-02T22:59:59Z'))).toBe(
      false,
    );
    expect(summaryDue('daily', 'Europe/Berlin', at('2026-03-02T12:00:00Z'), at('2026-03-02T23:00:00Z'))).toBe(
      true,
    );
    expect(summaryDue('daily', 'Europe/Berlin', at('2026-04-02T12:00:00Z'), at('2026-04-02T22:00:00Z'))).toBe(
      true,
    );
    // Weekly on Monday 00:00: 2026-03-02 is a Monday.
    expect(summaryDue('weekly', 'UTC', at('2026-03-02T00:00:00Z'), at('2026-03-08T23:59:59Z'))).toBe(false);
    expect(summaryDue('weekly', 'UTC', at('2026-03-02T00:00:00Z'), at('2026-03-09T00:00:00Z'))).toBe(true);
  });

  it('falls back to UTC for an unknown time zone', () => {
    expect(summaryDue('daily', 'Mars/Olympus', at('2026-03-02T12:00:00Z'), at('2026-03-03T00:00:00Z'))).toBe(
      true,
    );
  });
});

describe('plan', () => {
  it('treats an unknown tier as free', () => {
    expect(tierOf({ planTier: 'gold' })).toBe('free');
    expect(planAllows({ planTier: 'free' }, 'log_destinations')).toBe(true);
    expect(planAllows({ planTier: 'free' }, 'verified_roles')).toBe(false);
    expect(planAllows({ planTier: 'pro' }, 'verified_roles')).toBe(true);
    expect(presentSubscription({ id: '12345', planTier: 'pro' }).features.every((f) => f.available)).toBe(
      true,
    );
  });
});
