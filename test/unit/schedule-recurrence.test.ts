/** Schedule recurrence: local wall-clock times in a zone, the DST rule, and what is refused. */
import { describe, expect, it } from 'vitest';
import {
  firesWithin,
  instantOf,
  matchesNoDay,
  nextOccurrence,
  occurrencesBetween,
  parseRecurrence,
  RecurrenceError,
  setPosMissReason,
} from '../../controller/src/modules/schedules/recurrence.js';

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const between = (rule: string, zone: string, start: string, from: string, to: string) =>
  iso(
    occurrencesBetween(
      parseRecurrence({ rule, timeZone: zone, start }),
      zone,
      new Date(from),
      new Date(to),
      50,
    ).starts,
  );

describe('schedule recurrence', () => {
  it('keeps local time across DST in the southern hemisphere too (Sydney, April fall-back)', () => {
    expect(
      between(
        'RRULE:FREQ=DAILY',
        'Australia/Sydney',
        '2027-04-01T09:00',
        '2027-04-02T00:00Z',
        '2027-04-05T00:00Z',
      ),
    ).toEqual([
      '2027-04-02T22:00:00.000Z', // 09:00 AEDT (+11) on the 3rd
      '2027-04-03T23:00:00.000Z', // 09:00 AEST (+10) on the 4th
      '2027-04-04T23:00:00.000Z',
    ]);
  });

  it('moves a time inside a half-hour gap forward by the gap (Lord Howe Island)', () => {
    // Lord Howe moves from +10:30 to +11 at 02:00 on 3 Oct 2027: 02:15 does not exist.
    const local = new Date(Date.UTC(2027, 9, 3, 2, 15));
    expect(instantOf(local, 'Australia/Lord_Howe').toISOString()).toBe('2027-10-02T15:45:00.000Z'); // 02:45 +11
  });

  it('takes the first of a doubled hour (New York, November)', () => {
    const local = new Date(Date.UTC(2027, 10, 7, 1, 30));
    expect(instantOf(local, 'America/New_York').toISOString()).toBe('2027-11-07T05:30:00.000Z'); // 01:30 EDT
  });

  it('applies RDATE and EXDATE in local time; an empty rule is the start alone', () => {
    expect(
      between(
        'RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE:20270308T090000\nRDATE:20270310T100000',
        'Europe/Berlin',
        '2027-03-01T09:00',
        '2027-03-01T00:00Z',
        '2027-03-16T00:00Z',
      ),
    ).toEqual(['2027-03-01T08:00:00.000Z', '2027-03-10T09:00:00.000Z', '2027-03-15T08:00:00.000Z']);
    const once = parseRecurrence({ rule: '', timeZone: 'UTC', start: '2027-05-01T12:00:00' });
    expect(nextOccurrence(once, 'UTC', new Date('2027-01-01'))?.toISOString()).toBe(
      '2027-05-01T12:00:00.000Z',
    );
    expect(nextOccurrence(once, 'UTC', new Date('2027-06-01'))).toBeUndefined();
  });

  it('refuses what it cannot plan, with a reason', () => {
    const cases: [string, string, string, RegExp][] = [
      ['RRULE:FREQ=MINUTELY', 'UTC', '2027-01-01T00:00', /FREQ/],
      ['RRULE:FREQ=DAILY;BYMONTHDAY=0', 'UTC', '2027-01-01T00:00', /BYMONTHDAY/],
      ['RRULE:FREQ=DAILY;TZID=Europe/Berlin', 'UTC', '2027-01-01T00:00', /.+/],
      ['EXDATE;TZID=Europe/Berlin:20270101T000000', 'UTC', '2027-01-01T00:00', /RRULE, RDATE and EXDATE/],
      ['RDATE:20270101T000000Z', 'UTC', '2027-01-01T00:00', /local times/],
      ['', 'Europe/Nowhere', '2027-01-01T00:00', /time zone/],
      ['', 'UTC', '2027-13-01T00:00', /calendar/],
      ['', 'UTC', '2027-01-01T00:00+02:00', /local time/],
    ];
    for (const [rule, zone, start, message] of cases)
      expect(() => parseRecurrence({ rule, timeZone: zone, start }), rule || zone || start).toThrow(message);
    expect(() =>
      parseRecurrence({ rule: 'RRULE:FREQ=MINUTELY', timeZone: 'UTC', start: '2027-01-01T00:00' }),
    ).toThrow(RecurrenceError);
  });

  it('tells a rule that matches no day at once, and never says so of one that fires', () => {
    // Without the probe, rrule.js searches a daily rule that never fires until the year 9999 (~16 s).
    const rules: [rule: string, fires: boolean][] = [
      ['RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', false],
      ['RRULE:FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31', false],
      ['RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', false],
      ['RRULE:FREQ=DAILY;BYMONTH=1;BYYEARDAY=200', false],
      // rrule.js's default for a monthly rule is the start's day: the 31st, never in February.
      ['RRULE:FREQ=MONTHLY;BYMONTH=2', false],
      ['RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29', true],
      ['RRULE:FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH', true],
      ['RRULE:FREQ=MONTHLY;BYDAY=5FR', true],
      ['RRULE:FREQ=MONTHLY;BYDAY=-1SU;BYSETPOS=1', true],
      ['RRULE:FREQ=DAILY;BYYEARDAY=366', true],
      ['RRULE:FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=9,17', true],
      ['RRULE:FREQ=MONTHLY;BYMONTHDAY=-1;BYMONTH=4', true],
      ['RRULE:FREQ=YEARLY;BYMONTH=2;BYDAY=1MO', true],
      ['RDATE:20270301T090000', true],
    ];
    for (const [rule, fires] of rules) {
      const set = parseRecurrence({ rule, timeZone: 'Europe/Berlin', start: '2027-01-31T09:00' });
      expect(matchesNoDay(set), rule).toBe(!fires);
      const next = nextOccurrence(set, 'Europe/Berlin', new Date('2027-01-01T00:00Z'));
      expect(next instanceof Date, rule).toBe(fires);
    }
  });

  it('tells a rule whose INTERVAL steps over every day it names within a bounded search', () => {
    const rules: [string, string, boolean][] = [
      // 2027, 2031, …: never a leap year.
      ['RRULE:FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29', '2027-01-04T09:00', false],
      // 2028 is.
      ['RRULE:FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29', '2028-01-04T09:00', true],
      ['RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29', '2029-03-01T09:00', true],
      // Every twelfth month from February: only Februaries.
      ['RRULE:FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=31', '2027-02-01T09:00', false],
      ['RRULE:FREQ=HOURLY;INTERVAL=6', '2027-02-01T09:00', true],
      ['RRULE:FREQ=DAILY;UNTIL=20200101T000000', '2027-02-01T09:00', false],
      ['RDATE:20270301T090000', '2027-02-01T09:00', true],
      // An hourly step that never lands on its hour: rrule.js alone loops forever.
      ['RRULE:FREQ=HOURLY;INTERVAL=24;BYHOUR=5', '2027-02-01T09:00', false],
      ['RRULE:FREQ=HOURLY;INTERVAL=8;BYHOUR=1,5', '2027-02-01T09:00', true],
      // A weekly step from a Monday never reaches a Tuesday.
      ['RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=TU', '2027-02-01T09:00', false],
      ['RRULE:FREQ=DAILY;INTERVAL=7;BYDAY=MO', '2027-02-01T09:00', true],
      // Every 28 hours from Monday 09:00 reaches Mon 9, Tue 13, Wed 17, Thu 21, Sat 1 and Sun 5,
      // never a Friday: rrule.js alone looked hour by hour for ten years (14 s).
      ['RRULE:FREQ=HOURLY;INTERVAL=28;BYDAY=FR', '2027-02-01T09:00', false],
      ['RRULE:FREQ=HOURLY;INTERVAL=28;BYDAY=SA', '2027-02-01T09:00', true],
      ['RRULE:FREQ=HOURLY;INTERVAL=28;BYDAY=SU', '2028-09-13T09:00', false],
      ['RRULE:FREQ=HOURLY;INTERVAL=14;BYDAY=SU;BYHOUR=5', '2029-03-14T09:00', false],
      ['RRULE:FREQ=HOURLY;INTERVAL=14;BYDAY=SU;BYHOUR=11', '2029-03-14T09:00', true],
      // Only Mondays, and a 1 January that is a Monday is in week 1, never 53 (4 s before).
      ['RRULE:FREQ=DAILY;INTERVAL=7;BYMONTHDAY=1;BYMONTH=1;BYWEEKNO=53', '2031-03-17T09:00', false],
      // A position no period holds: rrule.js alone looked day by day until the year 9999.
      ['RRULE:FREQ=DAILY;BYSETPOS=2', '2027-02-01T09:00', false],
      ['RRULE:FREQ=DAILY;BYHOUR=9,17;BYSETPOS=2', '2027-02-01T09:00', true],
      ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=3', '2027-02-01T09:00', false],
      ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYSETPOS=-2', '2027-02-01T09:00', true],
      // A Monday and a Tuesday both the 1st of a month: never in one week.
      ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYMONTHDAY=1;BYSETPOS=2', '2027-02-01T09:00', false],
      ['RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYMONTHDAY=1,2;BYSETPOS=2', '2027-02-01T09:00', true],
      ['RRULE:FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=2', '2027-02-01T09:00', false],
      // A February holds a 1st and a 29th (in a leap year), never a 31st or a -30th.
      ['RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=1,31;BYSETPOS=2', '2027-02-01T09:00', false],
      ['RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=1,-30;BYSETPOS=-2', '2027-02-01T09:00', false],
      ['RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=1,29;BYSETPOS=2', '2027-02-01T09:00', true],
      ['RRULE:FREQ=YEARLY;BYMONTH=2,4;BYMONTHDAY=1,31;BYSETPOS=3', '2027-02-01T09:00', false],
      ['RRULE:FREQ=YEARLY;BYMONTH=2,4;BYMONTHDAY=1,30;BYSETPOS=3', '2027-02-01T09:00', true],
      ['RRULE:FREQ=YEARLY;BYDAY=1MO;BYSETPOS=2', '2027-02-01T09:00', false],
      ['RRULE:FREQ=YEARLY;BYMONTH=1,7;BYDAY=1MO;BYSETPOS=2', '2027-02-01T09:00', true],
      // First fires exactly ten years on (2035-03-01 is a Thursday): within the ten years.
      ['RRULE:FREQ=YEARLY;INTERVAL=10;BYMONTH=3;BYMONTHDAY=1;BYDAY=TH', '2025-03-01T00:00', true],
      [
        'RRULE:FREQ=YEARLY;INTERVAL=10;BYMONTH=3;BYMONTHDAY=1;BYDAY=TH;BYHOUR=0;BYMINUTE=1',
        '2025-03-01T00:00',
        false,
      ],
      // Only Tuesdays at 09:00, and the days it names are years apart (4 s before).
      ['RRULE:FREQ=HOURLY;INTERVAL=21;BYMONTHDAY=30;BYWEEKNO=-1;BYHOUR=9', '2027-08-17T09:00', false],
      ['RRULE:FREQ=MONTHLY;INTERVAL=6;BYMONTH=3,5', '2027-02-01T09:00', false],
      ['RRULE:FREQ=MONTHLY;INTERVAL=6;BYMONTH=8', '2027-02-01T09:00', true],
      ['RRULE:FREQ=YEARLY;INTERVAL=100;BYMONTH=2;BYMONTHDAY=29', '2096-01-04T09:00', true],
    ];
    for (const [rule, start, fires] of rules) {
      const set = parseRecurrence({ rule, timeZone: 'Europe/Berlin', start });
      expect(firesWithin(set, start, 10), `${rule} from ${start}`).toBe(fires);
    }
    // Every hundredth year from 2100: 2400 is the first leap one, 300 years on (later than the
    // 10 years a schedule is given, but not never).
    const rare = parseRecurrence({
      rule: 'RRULE:FREQ=YEARLY;INTERVAL=100;BYMONTH=2;BYMONTHDAY=29',
      timeZone: 'UTC',
      start: '2100-01-04T09:00',
    });
    expect(matchesNoDay(rare)).toBe(false);
    expect(firesWithin(rare, '2100-01-04T09:00', 10)).toBe(false);
    expect(firesWithin(rare, '2100-01-04T09:00', 301)).toBe(true);
  });

  it('tells a BYSETPOS past the days of the month a period has without a search', () => {
    // rrule.js alone looked month by month until the year 9999 for these (half a second each).
    const reason = (rule: string) =>
      setPosMissReason(parseRecurrence({ rule, timeZone: 'UTC', start: '2027-02-01T09:00' }));
    expect(reason('RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=1,31;BYSETPOS=2')).toMatch(
      /past the 1 occurrence/,
    );
    expect(reason('RRULE:FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=1,-31;BYSETPOS=2')).toMatch(
      /past the 1 occurrence/,
    );
    expect(reason('RRULE:FREQ=YEARLY;BYMONTH=2,4;BYMONTHDAY=1,31;BYSETPOS=3')).toMatch(
      /past the 2 occurrence/,
    );
    expect(reason('RRULE:FREQ=MONTHLY;BYMONTH=2,3;BYMONTHDAY=1,31;BYSETPOS=2')).toBeNull();
    expect(reason('RRULE:FREQ=MONTHLY;BYMONTHDAY=1,31;BYSETPOS=2')).toBeNull();
  });
});
