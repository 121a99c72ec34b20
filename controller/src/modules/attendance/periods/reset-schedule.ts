/**
 * Period reset schedules. A schedule cuts time into consecutive periods
 * [startMs, endMs); the end of one is the start of the next and the instant of a reset.
 * "Reset now" is the caller's, outside any schedule.
 *
 * - `manual`: no scheduled resets.
 * - `rolling`: every `intervalMs` from `anchorMs`: period n is
 *   [anchorMs + n·intervalMs, anchorMs + (n+1)·intervalMs), n any integer.
 * - `calendar`: aligned to the local calendar of `timeZone` (IANA): each hour at :00,
 *   each day at 00:00, each week at 00:00 on `weekStartsOn` (default Monday), each
 *   month at 00:00 on `dayOfMonth` (default 1; a month too short for it starts on its
 *   last day, so the 31st gives Jan 31, Feb 28/29, Mar 31, Apr 30 …), each year at
 *   00:00 on 1 January. Unit n starts at the first instant at which the local clock
 *   reads its starting wall time or later (`ZonedTime.firstInstantAt`). So:
 *   · on a day without a midnight (a DST gap at 00:00, as in Havana in March) the day
 *     starts when the clock jumps, at 01:00 local;
 *   · when a starting time occurs twice (a fall-back overlap) the period starts at the
 *     first occurrence: Berlin's hour 02:00 on the last Sunday of October lasts two
 *     hours, and a midnight that repeats starts its day once;
 *   · an hour skipped by a gap (Berlin's 02:00 in March) is an empty period, never
 *     returned: `index` numbers local calendar units, so it then skips a number.
 *   The period containing t is the last unit starting at or before t.
 */
import { type CalendarUnit, type UnitNumbering, unitNumbering, type Weekday } from './calendar-units.js';
import { ZonedTime } from './zoned-time.js';

export type ResetSchedule =
  | { kind: 'manual' }
  | { kind: 'rolling'; intervalMs: number; anchorMs: number }
  | {
      kind: 'calendar';
      unit: CalendarUnit;
      timeZone: string;
      /** Weekly only; default 1 (Monday). */
      weekStartsOn?: Weekday;
      /** Monthly only, 1–31; default 1. */
      dayOfMonth?: number;
    };

export interface Period {
  /** Rolling: n above. Calendar: local calendar units since the local epoch (1970). */
  index: number;
  startMs: number;
  /** The next scheduled reset. */
  endMs: number;
}

/** A schedule compiled once (time zone formatter and unit numbering) for repeated queries. */
export class PeriodCalendar {
  private readonly zone: ZonedTime | undefined;
  private readonly units: UnitNumbering | undefined;

  constructor(readonly schedule: ResetSchedule) {
    if (schedule.kind === 'rolling') {
      if (!Number.isSafeInteger(schedule.intervalMs) || schedule.intervalMs <= 0)
        throw new RangeError(`intervalMs must be a positive integer, got ${schedule.intervalMs}`);
      if (!Number.isFinite(schedule.anchorMs)) throw new RangeError('anchorMs must be finite');
    }
    if (schedule.kind === 'calendar') {
      const weekStartsOn = schedule.weekStartsOn ?? 1;
      const dayOfMonth = schedule.dayOfMonth ?? 1;
      if (!Number.isInteger(weekStartsOn) || weekStartsOn < 0 || weekStartsOn > 6)
        throw new RangeError(`weekStartsOn must be 0–6, got ${weekStartsOn}`);
      if (!Number.isInteger(dayOfMonth) || dayOfMonth < 1 || dayOfMonth > 31)
        throw new RangeError(`dayOfMonth must be 1–31, got ${dayOfMonth}`);
      this.zone = new ZonedTime(schedule.timeZone);
      this.units = unitNumbering(schedule.unit, weekStartsOn, dayOfMonth);
    }
  }

  /** The scheduled period containing `atMs`, or null for a manual schedule. */
  periodAt(atMs: number): Period | null {
    const schedule = this.schedule;
    if (schedule.kind === 'manual') return null;
    if (schedule.kind === 'rolling') {
      const index = Math.floor((atMs - schedule.anchorMs) / schedule.intervalMs);
      const startMs = schedule.anchorMs + index * schedule.intervalMs;
      return { index, startMs, endMs: startMs + schedule.intervalMs };
    }
    const zone = this.zone!;
    const units = this.units!;
    const startOf = (index: number) => zone.firstInstantAt(units.startOf(index));
    let index = units.indexOf(zone.wallAt(atMs));
    // The local reading can fall back across a boundary; boundaries themselves never do.
    while (startOf(index + 1) <= atMs) index++;
    while (startOf(index) > atMs) index--;
    return { index, startMs: startOf(index), endMs: startOf(index + 1) };
  }

  /** The first scheduled reset strictly after `fromMs`, or null for a manual schedule. */
  nextResetAfter(fromMs: number): number | null {
    return this.periodAt(fromMs)?.endMs ?? null;
  }
}

export function periodAt(schedule: ResetSchedule, atMs: number): Period | null {
  return new PeriodCalendar(schedule).periodAt(atMs);
}

export function nextResetAfter(schedule: ResetSchedule, fromMs: number): number | null {
  return new PeriodCalendar(schedule).nextResetAfter(fromMs);
}
