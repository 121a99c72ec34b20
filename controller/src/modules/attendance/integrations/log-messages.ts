/**
 * What the bot posts to log destinations: plain text with user and channel mentions
 * (`<@id>`, `<#id>`; the bot sends them with pings disabled), and when a periodic
 * summary is due. Pure functions, so the wording and the calendar are unit-tested.
 */
import { PeriodCalendar } from '../periods/reset-schedule.js';

export type SummaryFrequency = 'off' | 'hourly' | 'daily' | 'weekly';

const UNIT = { hourly: 'hour', daily: 'day', weekly: 'week' } as const;
const FREQUENCY_LABEL = { hourly: 'Hourly', daily: 'Daily', weekly: 'Weekly' } as const;

/** 3723000 → "1h 02m 03s"; 65000 → "1m 05s"; 9000 → "9s". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h ${pad(m)}m ${pad(s)}s`;
  if (m > 0) return `${m}m ${pad(s)}s`;
  return `${s}s`;
}

function formatInstant(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export function sessionMessage(session: {
  userId: string;
  channelId: string;
  activeMs: number;
  pausedMs: number;
  signed: boolean;
}): string {
  const paused = session.pausedMs >= 1000 ? ` (${formatDuration(session.pausedMs)} paused)` : '';
  const signed = session.signed ? 'signed' : 'not signed yet (signed when the key is unlocked)';
  return `Session: <@${session.userId}> spent ${formatDuration(session.activeMs)} in <#${session.channelId}>${paused}; ${signed}.`;
}

export interface Standing {
  rank: number;
  userId: string;
  activeMs: number;
}

function standings(entries: readonly Standing[]): string[] {
  return entries.map((e) => `${e.rank}. <@${e.userId}> ${formatDuration(e.activeMs)}`);
}

export function periodMessage(
  period: { periodIndex: number; startedAt: string; endedAt: string; sessions: number; signed: boolean },
  top: readonly Standing[],
): string {
  const head =
    `Period ${period.periodIndex} archived (${formatInstant(period.startedAt)} to ${formatInstant(period.endedAt)}): ` +
    `${period.sessions} session${period.sessions === 1 ? '' : 's'}, ${period.signed ? 'signed' : 'not signed yet'}.`;
  return top.length === 0
    ? `${head}\nNo tracked voice time.`
    : [head, 'Top members:', ...standings(top)].join('\n');
}

export function summaryMessage(
  frequency: Exclude<SummaryFrequency, 'off'>,
  periodIndex: number,
  top: readonly Standing[],
): string {
  const head = `${FREQUENCY_LABEL[frequency]} summary, period ${periodIndex}:`;
  return top.length === 0
    ? `${head} no tracked voice time yet.`
    : [`${head} leaderboard`, ...standings(top)].join('\n');
}

/**
 * Whether a summary is due: a calendar boundary of the frequency (each hour at :00, each
 * day at 00:00, each week on Monday 00:00, in the guild's time zone) has passed since
 * the last summary (or since summaries were turned on). An unknown time zone falls back
 * to UTC. After downtime one summary is due, not one per missed boundary.
 */
export function summaryDue(frequency: SummaryFrequency, timeZone: string, since: Date, now: Date): boolean {
  if (frequency === 'off') return false;
  const next = calendarFor(frequency, timeZone).nextResetAfter(since.getTime());
  return next !== null && next <= now.getTime();
}

function calendarFor(frequency: Exclude<SummaryFrequency, 'off'>, timeZone: string): PeriodCalendar {
  try {
    return new PeriodCalendar({ kind: 'calendar', unit: UNIT[frequency], timeZone });
  } catch {
    return new PeriodCalendar({ kind: 'calendar', unit: UNIT[frequency], timeZone: 'UTC' });
  }
}
