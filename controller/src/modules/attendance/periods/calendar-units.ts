/**
 * Calendar units on wall values (see `zoned-time.ts`): which unit a wall reading falls
 * in, numbered from the Unix epoch of local time, and the wall reading at which a
 * numbered unit starts. Pure UTC-calendar arithmetic; time zones enter elsewhere.
 */
export type CalendarUnit = 'hour' | 'day' | 'week' | 'month' | 'year';

/** 0 = Sunday … 6 = Saturday, as `Date.prototype.getUTCDay`. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export interface UnitNumbering {
  /** The number of the unit a wall reading falls in. */
  indexOf(wallMs: number): number;
  /** The wall reading at which unit `index` starts. */
  startOf(index: number): number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** 1970-01-01 was a Thursday. */
const EPOCH_WEEKDAY = 4;

export function unitNumbering(unit: CalendarUnit, weekStartsOn: Weekday, dayOfMonth: number): UnitNumbering {
  switch (unit) {
    case 'hour':
      return { indexOf: (wall) => Math.floor(wall / HOUR_MS), startOf: (index) => index * HOUR_MS };
    case 'day':
      return { indexOf: (wall) => Math.floor(wall / DAY_MS), startOf: (index) => index * DAY_MS };
    case 'week': {
      // Day numbers whose weekday is weekStartsOn are ≡ shift (mod 7).
      const shift = (((weekStartsOn - EPOCH_WEEKDAY) % 7) + 7) % 7;
      return {
        indexOf: (wall) => Math.floor((Math.floor(wall / DAY_MS) - shift) / 7),
        startOf: (index) => (index * 7 + shift) * DAY_MS,
      };
    }
    case 'month': {
      // Month n starts on dayOfMonth, or on its last day when it is shorter.
      const startOf = (index: number) => {
        const year = 1970 + Math.floor(index / 12);
        const month = ((index % 12) + 12) % 12;
        return Date.UTC(year, month, Math.min(dayOfMonth, daysInMonth(year, month)));
      };
      return {
        indexOf: (wall) => {
          const date = new Date(wall);
          const index = (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
          return wall < startOf(index) ? index - 1 : index;
        },
        startOf,
      };
    }
    case 'year':
      return {
        indexOf: (wall) => new Date(wall).getUTCFullYear() - 1970,
        startOf: (index) => Date.UTC(1970 + index, 0, 1),
      };
  }
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}
