import { describe, expect, it } from 'vitest';
import type { CalendarUnit } from '../../controller/src/modules/attendance/periods/calendar-units.js';
import {
  nextResetAfter,
  PeriodCalendar,
  periodAt,
  type ResetSchedule,
} from '../../controller/src/modules/attendance/periods/reset-schedule.js';
import { ZonedTime } from '../../controller/src/modules/attendance/periods/zoned-time.js';

const H = 3_600_000;
const DAY = 24 * H;
const utc = (iso: string) => Date.parse(iso);
const calendar = (unit: CalendarUnit, timeZone: string, extra: Partial<ResetSchedule> = {}): ResetSchedule =>
  ({ kind: 'calendar', unit, timeZone, ...extra }) as ResetSchedule;
/** The period containing `atIso`, as ISO strings and length in hours. */
const span = (schedule: ResetSchedule, atIso: string) => {
  const period = periodAt(schedule, utc(atIso))!;
  return {
    start: new Date(period.startMs).toISOString(),
    end: new Date(period.endMs).toISOString(),
    hours: (period.endMs - period.startMs) / H,
  };
};

describe('ZonedTime', () => {
  it('reads local wall time and offsets, including 30-minute ones', () => {
    const berlin = new ZonedTime('Europe/Berlin');
    expect(berlin.wallAt(utc('2025-03-30T00:59:59.999Z'))).toBe(utc('2025-03-30T01:59:59.999Z'));
    expect(berlin.wallAt(utc('2025-03-30T01:00:00Z'))).toBe(utc('2025-03-30T03:00:00Z'));
    const lordHowe = new ZonedTime('Australia/Lord_Howe');
    expect(lordHowe.offsetAt(utc('2025-07-01T00:00:00Z'))).toBe(10.5 * H);
    expect(lordHowe.offsetAt(utc('2025-12-01T00:00:00Z'))).toBe(11 * H);
  });

  it('resolves a wall time to the first instant the clock reads it or later', () => {
    const berlin = new ZonedTime('Europe/Berlin');
    // Gap: 02:00–03:00 on 30 March does not exist; every reading in it resolves to the jump.
    expect(berlin.firstInstantAt(utc('2025-03-30T02:00:00Z'))).toBe(utc('2025-03-30T01:00:00Z'));
    expect(berlin.firstInstantAt(utc('2025-03-30T02:45:00Z'))).toBe(utc('2025-03-30T01:00:00Z'));
    // Overlap: 02:00–03:00 on 26 October happens twice; the first occurrence wins.
    expect(berlin.firstInstantAt(utc('2025-10-26T02:30:00Z'))).toBe(utc('2025-10-26T00:30:00Z'));
    expect(berlin.firstInstantAt(utc('2025-10-26T03:00:00Z'))).toBe(utc('2025-10-26T02:00:00Z'));
  });

  it('rejects an unknown time zone', () => {
    expect(() => new ZonedTime('Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => new PeriodCalendar(calendar('day', 'Nowhere/Else'))).toThrow(RangeError);
  });
});

describe('calendar periods across DST', () => {
  it('Europe/Berlin days are 23 h at spring-forward and 25 h at fall-back', () => {
    expect(span(calendar('day', 'Europe/Berlin'), '2025-03-30T10:00:00Z')).toEqual({
      start: '2025-03-29T23:00:00.000Z',
      end: '2025-03-30T22:00:00.000Z',
      hours: 23,
    });
    expect(span(calendar('day', 'Europe/Berlin'), '2025-10-26T10:00:00Z')).toEqual({
      start: '2025-10-25T22:00:00.000Z',
      end: '2025-10-26T23:00:00.000Z',
      hours: 25,
    });
  });

  it('Europe/Berlin hours: the skipped 02:00 hour is never a period, the repeated one lasts two hours', () => {
    const hourly = calendar('hour', 'Europe/Berlin');
    const before = periodAt(hourly, utc('2025-03-30T00:30:00Z'))!;
    const after = periodAt(hourly, utc('2025-03-30T01:00:00Z'))!;
    expect(before.endMs).toBe(after.startMs);
    expect(after.index - before.index).toBe(2); // local hours 01 → 03
    expect(span(hourly, '2025-03-30T01:00:00Z').hours).toBe(1);
    // 02:30 CET, the second pass through 02:xx, is in the same period as 02:30 CEST.
    expect(span(hourly, '2025-10-26T01:30:00Z')).toEqual({
      start: '2025-10-26T00:00:00.000Z',
      end: '2025-10-26T02:00:00.000Z',
      hours: 2,
    });
    expect(span(hourly, '2025-10-26T00:30:00Z').start).toBe('2025-10-26T00:00:00.000Z');
  });

  it('America/New_York days and hours across both transitions', () => {
    expect(span(calendar('day', 'America/New_York'), '2025-03-09T12:00:00Z').hours).toBe(23);
    expect(span(calendar('day', 'America/New_York'), '2025-11-02T12:00:00Z')).toEqual({
      start: '2025-11-02T04:00:00.000Z',
      end: '2025-11-03T05:00:00.000Z',
      hours: 25,
    });
    expect(span(calendar('hour', 'America/New_York'), '2025-11-02T06:15:00Z')).toEqual({
      start: '2025-11-02T05:00:00.000Z',
      end: '2025-11-02T07:00:00.000Z',
      hours: 2,
    });
    expect(nextResetAfter(calendar('hour', 'America/New_York'), utc('2025-03-09T06:30:00Z'))).toBe(
      utc('2025-03-09T07:00:00Z'),
    );
  });

  it('Australia/Lord_Howe: 30-minute DST shifts give 23.5 h and 24.5 h days, 0.5 h and 1.5 h hours', () => {
    const zone = 'Australia/Lord_Howe';
    expect(span(calendar('day', zone), '2025-10-05T00:00:00Z')).toEqual({
      start: '2025-10-04T13:30:00.000Z',
      end: '2025-10-05T13:00:00.000Z',
      hours: 23.5,
    });
    expect(span(calendar('day', zone), '2025-04-06T00:00:00Z')).toEqual({
      start: '2025-04-05T13:00:00.000Z',
      end: '2025-04-06T13:30:00.000Z',
      hours: 24.5,
    });
    // 02:00 jumps to 02:30: local hour 02 is half an hour long.
    expect(span(calendar('hour', zone), '2025-10-04T15:45:00Z')).toEqual({
      start: '2025-10-04T15:30:00.000Z',
      end: '2025-10-04T16:00:00.000Z',
      hours: 0.5,
    });
    // 02:00 falls back to 01:30: local hour 01 lasts an hour and a half.
    expect(span(calendar('hour', zone), '2025-04-05T15:10:00Z')).toEqual({
      start: '2025-04-05T14:00:00.000Z',
      end: '2025-04-05T15:30:00.000Z',
      hours: 1.5,
    });
  });

  it('America/Havana: a day without a midnight starts at 01:00; a repeated midnight starts its day once', () => {
    const daily = calendar('day', 'America/Havana');
    expect(span(daily, '2025-03-09T12:00:00Z')).toEqual({
      start: '2025-03-09T05:00:00.000Z', // 01:00 CDT: clocks went 23:59:59 → 01:00
      end: '2025-03-10T04:00:00.000Z',
      hours: 23,
    });
    expect(span(daily, '2025-03-08T12:00:00Z').end).toBe('2025-03-09T05:00:00.000Z');
    // 01:00 CDT → 00:00 CST on 2 November: the day starts at the first midnight, 04:00Z.
    expect(span(daily, '2025-11-02T05:30:00Z')).toEqual({
      start: '2025-11-02T04:00:00.000Z',
      end: '2025-11-03T05:00:00.000Z',
      hours: 25,
    });
  });
});

describe('weekly, monthly and yearly periods', () => {
  it('weeks start on the configured weekday at local midnight (default Monday)', () => {
    const at = '2025-03-26T12:00:00Z'; // a Wednesday; the week contains the spring-forward
    expect(span(calendar('week', 'Europe/Berlin'), at)).toEqual({
      start: '2025-03-23T23:00:00.000Z',
      end: '2025-03-30T22:00:00.000Z',
      hours: 167,
    });
    expect(span(calendar('week', 'Europe/Berlin', { weekStartsOn: 0 }), at).start).toBe(
      '2025-03-22T23:00:00.000Z',
    );
    expect(span(calendar('week', 'Europe/Berlin', { weekStartsOn: 6 }), at).start).toBe(
      '2025-03-21T23:00:00.000Z',
    );
    expect(span(calendar('week', 'Europe/Berlin', { weekStartsOn: 3 }), at).start).toBe(
      '2025-03-25T23:00:00.000Z',
    );
    // Sunday start: the week from Sunday 30 March begins before the jump, at 00:00 CET.
    expect(span(calendar('week', 'Europe/Berlin', { weekStartsOn: 0 }), '2025-03-30T12:00:00Z').start).toBe(
      '2025-03-29T23:00:00.000Z',
    );
  });

  it('months start on the 1st at local midnight whatever their length', () => {
    const monthly = calendar('month', 'Europe/Berlin');
    expect(nextResetAfter(monthly, utc('2025-01-31T12:00:00Z'))).toBe(utc('2025-01-31T23:00:00Z'));
    expect(span(monthly, '2025-02-10T00:00:00Z').hours).toBe(28 * 24);
    expect(span(monthly, '2025-03-10T00:00:00Z')).toEqual({
      start: '2025-02-28T23:00:00.000Z',
      end: '2025-03-31T22:00:00.000Z',
      hours: 31 * 24 - 1,
    });
    expect(span(monthly, '2024-02-10T00:00:00Z').hours).toBe(29 * 24);
  });

  it('a monthly reset on the 31st falls on the last day of shorter months and returns to the 31st', () => {
    const schedule = calendar('month', 'America/New_York', { dayOfMonth: 31 });
    const resets: string[] = [];
    let t = utc('2025-01-15T00:00:00Z');
    for (let i = 0; i < 5; i++) {
      t = nextResetAfter(schedule, t)!;
      resets.push(new Date(t).toISOString());
    }
    expect(resets).toEqual([
      '2025-01-31T05:00:00.000Z',
      '2025-02-28T05:00:00.000Z',
      '2025-03-31T04:00:00.000Z',
      '2025-04-30T04:00:00.000Z',
      '2025-05-31T04:00:00.000Z',
    ]);
    expect(span(schedule, '2024-02-15T00:00:00Z').end).toBe('2024-02-29T05:00:00.000Z');
    expect(span(schedule, '2025-02-15T00:00:00Z').start).toBe('2025-01-31T05:00:00.000Z');
    expect(
      span(calendar('month', 'America/New_York', { dayOfMonth: 30 }), '2025-03-15T00:00:00Z'),
    ).toMatchObject({
      start: '2025-02-28T05:00:00.000Z',
      end: '2025-03-30T04:00:00.000Z',
    });
  });

  it('years start on 1 January at local midnight', () => {
    const yearly = calendar('year', 'America/New_York');
    const period = periodAt(yearly, utc('2026-01-01T04:30:00Z'))!; // 23:30 on 31 December, local
    expect(period).toEqual({
      index: 55,
      startMs: utc('2025-01-01T05:00:00Z'),
      endMs: utc('2026-01-01T05:00:00Z'),
    });
    expect(nextResetAfter(yearly, period.endMs)).toBe(utc('2027-01-01T05:00:00Z'));
  });

  it('the next reset is strictly after the given instant', () => {
    const daily = calendar('day', 'Europe/Berlin');
    expect(nextResetAfter(daily, utc('2025-03-29T23:00:00Z'))).toBe(utc('2025-03-30T22:00:00Z'));
    expect(nextResetAfter(daily, utc('2025-03-29T22:59:59.999Z'))).toBe(utc('2025-03-29T23:00:00Z'));
  });

  it('periods tile time: each starts where the previous ended, across a year in several zones', () => {
    const zones = [
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'America/Havana',
      'Asia/Kathmandu',
    ];
    const units: CalendarUnit[] = ['day', 'week', 'month', 'year'];
    for (const timeZone of zones)
      for (const unit of units) {
        const cal = new PeriodCalendar(calendar(unit, timeZone));
        let period = cal.periodAt(utc('2025-01-01T00:00:00Z'))!;
        while (period.startMs < utc('2026-01-01T00:00:00Z')) {
          const next = cal.periodAt(period.endMs)!;
          expect(next.startMs).toBe(period.endMs);
          expect(next.index).toBeGreaterThan(period.index);
          expect(cal.periodAt(period.endMs - 1)).toEqual(period);
          period = next;
        }
      }
  });

  it('hours tile time around every 2025 transition', () => {
    const weeks: [string, string][] = [
      ['Europe/Berlin', '2025-03-28'],
      ['Europe/Berlin', '2025-10-24'],
      ['America/New_York', '2025-03-07'],
      ['America/New_York', '2025-10-31'],
      ['Australia/Lord_Howe', '2025-04-04'],
      ['Australia/Lord_Howe', '2025-10-03'],
    ];
    for (const [timeZone, from] of weeks) {
      const cal = new PeriodCalendar(calendar('hour', timeZone));
      let period = cal.periodAt(utc(`${from}T00:00:00Z`))!;
      for (let i = 0; i < 96; i++) {
        const next = cal.periodAt(period.endMs)!;
        expect(next.startMs).toBe(period.endMs);
        expect(next.endMs - next.startMs).toBeGreaterThanOrEqual(H / 2);
        expect(next.endMs - next.startMs).toBeLessThanOrEqual(2 * H);
        period = next;
      }
    }
  });
});

describe('rolling and manual schedules', () => {
  it('rolling periods repeat every interval from the anchor, before and after it', () => {
    const anchorMs = utc('2025-01-06T18:00:00Z');
    const weekly: ResetSchedule = { kind: 'rolling', intervalMs: 7 * DAY, anchorMs };
    expect(periodAt(weekly, anchorMs)).toEqual({ index: 0, startMs: anchorMs, endMs: anchorMs + 7 * DAY });
    expect(periodAt(weekly, anchorMs - 1)).toEqual({
      index: -1,
      startMs: anchorMs - 7 * DAY,
      endMs: anchorMs,
    });
    expect(nextResetAfter(weekly, anchorMs + 20 * DAY)).toBe(anchorMs + 21 * DAY);
    expect(nextResetAfter(weekly, anchorMs + 21 * DAY)).toBe(anchorMs + 28 * DAY);
  });

  it('a manual schedule never resets by itself', () => {
    expect(nextResetAfter({ kind: 'manual' }, 0)).toBeNull();
    expect(periodAt({ kind: 'manual' }, 0)).toBeNull();
  });

  it('rejects invalid parameters', () => {
    expect(() => new PeriodCalendar({ kind: 'rolling', intervalMs: 0, anchorMs: 0 })).toThrow(RangeError);
    expect(() => new PeriodCalendar(calendar('week', 'UTC', { weekStartsOn: 7 as 0 }))).toThrow(RangeError);
    expect(() => new PeriodCalendar(calendar('month', 'UTC', { dayOfMonth: 0 }))).toThrow(RangeError);
    expect(() => new PeriodCalendar(calendar('month', 'UTC', { dayOfMonth: 32 }))).toThrow(RangeError);
  });
});
