/**
 * Schedule recurrence: RFC 5545 RRULE / RDATE / EXDATE lines (rrule.js) over local wall-clock
 * times of an IANA zone (luxon). The rule is expanded in floating local time, so "every Monday
 * 09:00" stays 09:00 local on both sides of a DST change; each local time then becomes an instant:
 *
 * - a local time that does not exist (inside a spring-forward gap) moves forward by the gap's
 *   length (02:30 → 03:30), as RFC 5545 §3.3.5 says;
 * - a local time that exists twice (fall-back) is the first of the two (the earlier instant).
 */
import { DateTime, IANAZone } from 'luxon';
import type { RRuleSet } from 'rrule';
import rrule from 'rrule';

// rrule ships CommonJS to Node: its names come from the default export (vitest would hide this).
const { Frequency, RRule, rrulestr } = rrule;

/** A parsed rule's options (rrule.js does not export their type by name). */
type RRuleOptions = InstanceType<typeof RRule>['options'];

export class RecurrenceError extends Error {}

const LOCAL_START = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
const LOCAL_DATE_LIST = /^\d{8}T\d{6}(,\d{8}T\d{6})*$/;
/** Rules as frequent as this or more are refused: recordings, not ticks. */
const ALLOWED_FREQUENCIES = new Set([
  Frequency.YEARLY,
  Frequency.MONTHLY,
  Frequency.WEEKLY,
  Frequency.DAILY,
  Frequency.HOURLY,
]);

export interface Recurrence {
  /** RRULE, RDATE and EXDATE lines, one per line; times local to `timeZone`, without TZID. */
  rule: string;
  timeZone: string;
  /** DTSTART, local: YYYY-MM-DDTHH:MM[:SS]. */
  start: string;
}

export function isValidZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

function checkRange(name: string, values: number | number[] | null | undefined, min: number, max: number) {
  if (values === null || values === undefined) return;
  for (const value of Array.isArray(values) ? values : [values]) {
    // Where negatives count from the end (BYMONTHDAY=-1), 0 means nothing.
    if (!Number.isInteger(value) || value < min || value > max || (value === 0 && min < 0))
      throw new RecurrenceError(`${name} value ${value} is out of range (${min}..${max})`);
  }
}

/** Checks one RRULE line's parts beyond what rrule.js enforces. */
function checkRuleLine(line: string): void {
  if (/TZID|DTSTART/i.test(line))
    throw new RecurrenceError('put the start in `start` and the zone in `timeZone`, not in the RRULE');
  let options: ReturnType<typeof RRule.parseString>;
  try {
    options = RRule.parseString(line);
  } catch (error) {
    throw new RecurrenceError(`RRULE is not valid: ${(error as Error).message}`);
  }
  if (options.freq === undefined || !ALLOWED_FREQUENCIES.has(options.freq))
    throw new RecurrenceError('RRULE needs FREQ=YEARLY, MONTHLY, WEEKLY, DAILY or HOURLY');
  if (options.dtstart || options.tzid)
    throw new RecurrenceError('put the start in `start` and the zone in `timeZone`, not in the RRULE');
  checkRange('COUNT', options.count, 1, 100_000);
  checkRange('INTERVAL', options.interval, 1, 1000);
  checkRange('BYHOUR', options.byhour, 0, 23);
  checkRange('BYMINUTE', options.byminute, 0, 59);
  checkRange('BYSECOND', options.bysecond, 0, 59);
  checkRange('BYMONTH', options.bymonth, 1, 12);
  checkRange('BYMONTHDAY', options.bymonthday as number[] | number | null, -31, 31);
  checkRange('BYYEARDAY', options.byyearday, -366, 366);
  checkRange('BYWEEKNO', options.byweekno, -53, 53);
  checkRange('BYSETPOS', options.bysetpos, -366, 366);
}

function compactLocal(start: string): string {
  const match = LOCAL_START.exec(start);
  if (!match) throw new RecurrenceError('start must be a local time YYYY-MM-DDTHH:MM[:SS] (no zone)');
  const [, y, mo, d, h, mi, s = '00'] = match;
  const parsed = DateTime.fromObject(
    { year: +y!, month: +mo!, day: +d!, hour: +h!, minute: +mi!, second: +s },
    { zone: 'UTC' },
  );
  if (!parsed.isValid) throw new RecurrenceError(`start ${start} is not a calendar date and time`);
  return `${y}${mo}${d}T${h}${mi}${s}`;
}

/** Parses and checks a recurrence; throws RecurrenceError with a message for the caller. */
export function parseRecurrence(recurrence: Recurrence): RRuleSet {
  if (!isValidZone(recurrence.timeZone))
    throw new RecurrenceError(
      `unknown time zone ${recurrence.timeZone}: use an IANA name like Europe/Berlin`,
    );
  const lines = recurrence.rule
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean);
  let rules = 0;
  for (const line of lines) {
    const [name = '', value = ''] = line.split(/:(.*)/s);
    if (name === 'RRULE') {
      checkRuleLine(line);
      rules++;
    } else if (name === 'RDATE' || name === 'EXDATE') {
      if (!LOCAL_DATE_LIST.test(value))
        throw new RecurrenceError(
          `${name} takes local times like 20270301T090000 (comma-separated, no zone)`,
        );
    } else {
      throw new RecurrenceError(`unsupported line "${line.slice(0, 40)}": use RRULE, RDATE and EXDATE lines`);
    }
  }
  if (rules > 1) throw new RecurrenceError('one RRULE per schedule');
  const text = [`DTSTART:${compactLocal(recurrence.start)}`, ...lines].join('\n');
  try {
    const set = rrulestr(text, { forceset: true }) as RRuleSet;
    if (rules === 0) set.rdate(floating(recurrence.start)); // a one-date rule: just the start
    return set;
  } catch (error) {
    throw new RecurrenceError(`recurrence is not valid: ${(error as Error).message}`);
  }
}

/** rrule.js works in "floating" UTC: a Date whose UTC fields are the local wall-clock time. */
function floating(localStart: string): Date {
  const [, y, mo, d, h, mi, s = '00'] = LOCAL_START.exec(localStart)!;
  return new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s));
}

function toFloating(instant: Date, zone: string): Date {
  const local = DateTime.fromJSDate(instant, { zone });
  return new Date(Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second));
}

/** The instant of a floating local time in `zone`, by the rules in the header. */
export function instantOf(floatingLocal: Date, zone: string): Date {
  const fields = {
    year: floatingLocal.getUTCFullYear(),
    month: floatingLocal.getUTCMonth() + 1,
    day: floatingLocal.getUTCDate(),
    hour: floatingLocal.getUTCHours(),
    minute: floatingLocal.getUTCMinutes(),
    second: floatingLocal.getUTCSeconds(),
  };
  const guess = DateTime.fromObject(fields, { zone });
  // Every instant that reads as this wall-clock time: one normally, two in a fall-back overlap.
  const candidates = [guess.minus({ hours: 3 }).offset, guess.plus({ hours: 3 }).offset]
    .map((offset) => DateTime.fromObject(fields, { zone: 'UTC' }).minus({ minutes: offset }).setZone(zone))
    .filter((dt) => dt.hour === fields.hour && dt.minute === fields.minute && dt.day === fields.day);
  if (candidates.length === 0) return guess.toJSDate(); // in a gap: luxon moves it forward
  return new Date(Math.min(...candidates.map((dt) => dt.toMillis())));
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** Whether `value` is congruent to `from` modulo `step`. */
function inClass(value: number, from: number, step: number): boolean {
  return (((value - from) % step) + step) % step === 0;
}

/** The values 0..n-1. */
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * The hours of the week (Monday 00:00 is 0) an HOURLY rule's BYDAY and BYHOUR allow, or null when
 * it names neither.
 */
function hoursOfWeek(o: RRuleOptions): number[] | null {
  const days = [...(o.byweekday ?? []), ...(o.bynweekday ?? []).map(([day]) => day!)];
  const hours = o.byhour?.length ? o.byhour : null;
  if (!days.length && !hours) return null;
  return (days.length ? days : upTo(7)).flatMap((day: number) =>
    (hours ?? upTo(24)).map((hour: number) => day * 24 + hour),
  );
}

/**
 * Why a rule's INTERVAL steps over every value it names, or null. From the start, a rule of
 * FREQ=HOURLY with INTERVAL=i reaches only the hours of the week w0 + k·i (mod 168), that is w0's
 * class modulo gcd(i, 168); so with DAILY over weekdays (mod 7) and MONTHLY over months (mod 12).
 * When none of the hours its BYDAY and BYHOUR allow (or the BYDAY, or the BYMONTH values) is in
 * that class, the rule never fires, and rrule.js does not stop looking: for HOURLY it loops forever
 * (its hour step only ends on a listed hour) or, with BYDAY, looks hour by hour for ten years (14 s
 * for INTERVAL=28;BYDAY=SU from a Wednesday), for the others until the year 9999. Such a rule is
 * refused before rrule.js iterates it.
 */
export function intervalMissReason(set: RRuleSet): string | null {
  for (const rule of set.rrules()) {
    const o = rule.options;
    const start = o.dtstart;
    // rrule.js numbers weekdays from Monday (0); Date from Sunday.
    const weekday = (start.getUTCDay() + 6) % 7;
    const cycles: [number, string, number[] | null | undefined, number, number][] = [
      [Frequency.HOURLY, 'BYDAY or BYHOUR', hoursOfWeek(o), 168, weekday * 24 + start.getUTCHours()],
      [Frequency.DAILY, 'BYDAY', o.byweekday, 7, weekday],
      [Frequency.MONTHLY, 'BYMONTH', o.bymonth, 12, start.getUTCMonth() + 1],
    ];
    for (const [freq, part, values, period, from] of cycles) {
      if (o.freq !== freq || !values?.length || o.interval <= 1) continue;
      const step = gcd(o.interval, period);
      if (values.some((v) => inClass(v, from, step))) continue;
      return `INTERVAL=${o.interval} from the start never reaches a ${part} value it names: no recording would ever start`;
    }
  }
  return null;
}

/** The most days each month has (February in a leap year), January first. */
const MONTH_LENGTHS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** How many of the rule's days of the month (BYMONTHDAY, 31 or -31 included) `month` (1–12) can hold. */
function monthdaysIn(o: RRuleOptions, month: number): number {
  const length = MONTH_LENGTHS[month - 1]!;
  return [...(o.bymonthday ?? []), ...(o.bynmonthday ?? [])].filter((day) => Math.abs(day) <= length).length;
}

/**
 * The most days one period of a rule can hold, by its frequency and day filters: a month holds
 * only the days of the month it has (BYMONTH=2 never a 30th or a -31st), a year the sum of its months'.
 */
function daysPerPeriod(o: RRuleOptions): number {
  const plain = new Set(o.byweekday ?? []).size;
  const ordinal = (o.bynweekday ?? []).length;
  const monthdays = (o.bymonthday ?? []).length + (o.bynmonthday ?? []).length;
  const months: number[] = o.bymonth?.length ? o.bymonth : upTo(12).map((m) => m + 1);
  const inMonth = months.map((month) => monthdaysIn(o, month));
  const bounds: number[] = [];
  if (o.freq >= Frequency.DAILY) bounds.push(1);
  // A week holds each day of the month at most once (the same day of the next month is 28+ days on).
  if (o.freq === Frequency.WEEKLY)
    bounds.push(7, ...(plain ? [plain] : []), ...(monthdays ? [monthdays] : []));
  if (o.freq === Frequency.MONTHLY) {
    bounds.push(31);
    if (monthdays) bounds.push(Math.max(...inMonth));
    if (plain || ordinal) bounds.push(5 * plain + ordinal);
  }
  if (o.freq === Frequency.YEARLY) {
    bounds.push(366);
    if (monthdays) bounds.push(inMonth.reduce((sum, n) => sum + n, 0));
    // Without BYMONTH an ordinal (1MO) counts in the year, with it in each month.
    if (plain || ordinal) bounds.push(53 * plain + ordinal * (o.bymonth?.length || 1));
    if (o.byweekno?.length) bounds.push(7 * o.byweekno.length);
  }
  if (o.byyearday?.length) bounds.push(o.byyearday.length);
  return Math.min(...bounds);
}

/**
 * Why a rule's BYSETPOS asks for a position no period holds, or null: `FREQ=DAILY;BYSETPOS=2`
 * asks for the second occurrence of days that hold one. rrule.js looks for it a period at a time
 * until the year 9999 (minutes for a daily rule). A period holds at most its days (an upper bound
 * from the frequency and the day filters) times its times of day (BYHOUR, BYMINUTE, BYSECOND, as
 * rrule.js fills them in from the start).
 */
export function setPosMissReason(set: RRuleSet): string | null {
  for (const rule of set.rrules()) {
    const o = rule.options;
    if (!o.bysetpos?.length) continue;
    // An HOURLY rule's own hour is one per period whatever its BYHOUR: counting them only errs high.
    const times = (o.byhour?.length || 1) * (o.byminute?.length || 1) * (o.bysecond?.length || 1);
    const most = daysPerPeriod(o) * times;
    if (o.bysetpos.every((position: number) => Math.abs(position) > most))
      return `BYSETPOS=${o.bysetpos.join(',')} asks for a position past the ${most} occurrence(s) one period can hold: no recording would ever start`;
  }
  return null;
}

/** The first year of the last whole 400-year cycle rrule.js reaches (it stops after 9999). */
const PROBE_YEAR = 9600;
const dayless = new WeakMap<RRuleSet, boolean>();

/**
 * The weekdays (Monday is 0) a DAILY or HOURLY rule's INTERVAL reaches from its start: a DAILY
 * step of 7 days keeps the start's weekday; an HOURLY one reaches the hours of the week in the
 * start's class modulo gcd(INTERVAL, 168), and so only the weekdays holding one of its BYHOUR
 * hours there. Null when every weekday can be reached.
 */
function reachedWeekdays(o: RRuleOptions): number[] | null {
  if (o.interval <= 1 || (o.freq !== Frequency.DAILY && o.freq !== Frequency.HOURLY)) return null;
  const weekday = (o.dtstart.getUTCDay() + 6) % 7;
  if (o.freq === Frequency.DAILY) {
    const step = gcd(o.interval, 7);
    return upTo(7).filter((day) => inClass(day, weekday, step));
  }
  const step = gcd(o.interval, 168);
  const from = weekday * 24 + o.dtstart.getUTCHours();
  const hours = o.byhour?.length ? o.byhour : upTo(24);
  return upTo(7).filter((day) => hours.some((hour: number) => inClass(day * 24 + hour, from, step)));
}

/**
 * A YEARLY rule from `year` that makes every day `rule` may fire on, and perhaps more: its day
 * filters as rrule.js applies them (defaults from the start included), the years a YEARLY rule's
 * INTERVAL reaches (the start's class modulo gcd(INTERVAL, 400), the calendar's cycle), the months
 * a MONTHLY one's reaches (modulo gcd(INTERVAL, 12)) and the weekdays of `reachedWeekdays`.
 * Ordinal weekdays (1MO) count as plain ones and BYSETPOS is left out. Null when no month is left.
 */
function dayProbe(o: RRuleOptions, year: number): InstanceType<typeof RRule> | null {
  const start = o.dtstart;
  const monthdays = [...(o.bymonthday ?? []), ...(o.bynmonthday ?? [])];
  const named = [...(o.byweekday ?? []), ...(o.bynweekday ?? []).map(([day]) => day!)];
  const reached = reachedWeekdays(o);
  const weekdays = reached ? (named.length ? named.filter((d) => reached.includes(d)) : reached) : named;
  const years = o.freq === Frequency.YEARLY ? gcd(o.interval, 400) : 1;
  const firstYear = year + ((((start.getUTCFullYear() - year) % years) + years) % years);
  const monthStep = o.freq === Frequency.MONTHLY ? gcd(o.interval, 12) : 1;
  const months = (o.bymonth?.length ? o.bymonth : upTo(12).map((m) => m + 1)).filter((m) =>
    inClass(m, start.getUTCMonth() + 1, monthStep),
  );
  if (months.length === 0 || (reached && weekdays.length === 0)) return null;
  return new RRule({
    freq: Frequency.YEARLY,
    interval: years,
    dtstart: new Date(Date.UTC(firstYear, 0, 1)),
    wkst: o.wkst,
    bymonth: months.length < 12 ? months : null,
    bymonthday: monthdays.length ? monthdays : null,
    byyearday: o.byyearday?.length ? o.byyearday : null,
    byweekno: o.byweekno?.length ? o.byweekno : null,
    // Some day filter must be named, or rrule.js adds the probe's own start as the default.
    byweekday: weekdays.length ? weekdays : upTo(7),
  });
}

/**
 * Whether one of the set's RRULEs matches no day of any year, like BYMONTH=2;BYMONTHDAY=30, or
 * none of the years, months or weekdays its INTERVAL reaches (see also `intervalMissReason`).
 * rrule.js looks for such a rule's next date a period at a time until the year 9999 (16 s for a
 * daily rule, blocking the loop), so this asks its `dayProbe` over one 400-year cycle of the
 * Gregorian calendar, which then repeats exactly: at most 400 steps. The probe can only find more
 * days than the rule: it never says "no day" of a rule that fires.
 */
export function matchesNoDay(set: RRuleSet): boolean {
  let known = dayless.get(set);
  if (known === undefined) {
    known =
      intervalMissReason(set) !== null ||
      setPosMissReason(set) !== null ||
      set.rrules().some((rule) => {
        const probe = dayProbe(rule.options, PROBE_YEAR);
        return probe === null || probe.after(probe.options.dtstart, true) === null;
      });
    dayless.set(set, known);
  }
  return known;
}

/** The earliest Date rrule.js is asked about (an RDATE may come before the start). */
const BEFORE_ANY_DATE = new Date('0001-01-01T00:00:00Z');

/**
 * Whether the set makes an occurrence within `years` of its local start. rrule.js stops a search
 * only at a date it produced: a rule that never fires is told by `matchesNoDay` first (which
 * `between` alone would look for until the year 9999, or forever), and one that fires searches
 * up to its first date.
 */
export function firesWithin(set: RRuleSet, startLocal: string, years: number): boolean {
  if (matchesNoDay(set)) return false;
  const end = floating(startLocal);
  end.setUTCFullYear(end.getUTCFullYear() + years);
  // No day the rule may fire on comes before the end: no need for rrule.js to step through
  // every period until then (seconds for an HOURLY rule with day filters).
  const noDayBeforeEnd = (rule: InstanceType<typeof RRule>) => {
    const from = rule.options.dtstart;
    const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
    const first = dayProbe(rule.options, from.getUTCFullYear())?.after(day, true);
    return !first || first > end;
  };
  // `end` itself counts, as in `between` below.
  if (set.rdates().every((date) => date > end) && set.rrules().every(noDayBeforeEnd)) return false;
  return set.between(BEFORE_ANY_DATE, end, true, (_date, index) => index < 1).length > 0;
}

/** The occurrence instants in [from, to), ascending, at most `limit`. */
export function occurrencesBetween(
  set: RRuleSet,
  zone: string,
  from: Date,
  to: Date,
  limit: number,
): { starts: Date[]; truncated: boolean } {
  if (matchesNoDay(set)) return { starts: [], truncated: false };
  // Floating bounds widened by a day either side (zone offsets), then filtered exactly.
  const day = 24 * 3600_000;
  const locals = set.between(
    new Date(toFloating(from, zone).getTime() - day),
    new Date(toFloating(to, zone).getTime() + day),
    true,
    (_date, index) => index < limit + 100,
  );
  const starts = locals.map((local) => instantOf(local, zone)).filter((t) => t >= from && t < to);
  const unique = [...new Map(starts.map((t) => [t.getTime(), t])).values()].sort((a, b) => +a - +b);
  return { starts: unique.slice(0, limit), truncated: unique.length > limit };
}

/** The first occurrence at or after `from` (within ten years), if any. */
export function nextOccurrence(set: RRuleSet, zone: string, from: Date): Date | undefined {
  if (matchesNoDay(set)) return undefined;
  let local = set.after(new Date(toFloating(from, zone).getTime() - 24 * 3600_000), true);
  for (let guard = 0; local && guard < 1000; guard++) {
    const instant = instantOf(local, zone);
    if (instant >= from) return instant;
    local = set.after(local, false);
  }
  return undefined;
}
