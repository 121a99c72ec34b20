/**
 * Local wall-clock time in an IANA time zone, from `Intl.DateTimeFormat` alone.
 *
 * A "wall" value is the local date and time read on a clock in the zone, written as
 * the epoch milliseconds that UTC clock reading would have: at 2025-03-30T03:00+02:00
 * in Europe/Berlin the wall value is Date.UTC(2025, 2, 30, 3). Wall arithmetic then
 * uses the UTC methods of Date, which know nothing of time zones.
 *
 * Converting a wall value back to an instant is where DST bites: in a spring-forward
 * gap the reading never occurs, in a fall-back overlap it occurs twice. `firstInstantAt`
 * answers one question that covers both: the first instant at which the local clock
 * reads the given value *or later*. In an overlap that is the earlier occurrence; in a
 * gap it is the instant of the transition (e.g. 03:00 CEST when 02:00 is skipped).
 * Assumes at most one offset change within a day either side of the value, which holds
 * for every zone in the tz database since the 1950s.
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export class ZonedTime {
  private readonly format: Intl.DateTimeFormat;

  /** Throws RangeError for a zone the runtime does not know. */
  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The local wall-clock reading at an instant, as a wall value. */
  wallAt(instantMs: number): number {
    let year = 0;
    let month = 0;
    let day = 0;
    let hour = 0;
    let minute = 0;
    let second = 0;
    for (const part of this.format.formatToParts(instantMs)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
      }
    }
    const subSecondMs = ((instantMs % 1000) + 1000) % 1000;
    return Date.UTC(year, month - 1, day, hour, minute, second) + subSecondMs;
  }

  /** The zone's offset from UTC at an instant (positive east of Greenwich). */
  offsetAt(instantMs: number): number {
    return this.wallAt(instantMs) - instantMs;
  }

  /** The first instant at which the local clock reads `wallMs` or later (see above). */
  firstInstantAt(wallMs: number): number {
    const offsetBefore = this.offsetAt(wallMs - DAY_MS);
    const offsetAfter = this.offsetAt(wallMs + DAY_MS);
    let earliest = Number.POSITIVE_INFINITY;
    for (const candidate of [wallMs - offsetBefore, wallMs - offsetAfter])
      if (candidate < earliest && this.wallAt(candidate) === wallMs) earliest = candidate;
    if (earliest !== Number.POSITIVE_INFINITY) return earliest;
    // A gap: the clock jumps past wallMs. Search the jump between the two readings.
    let low = Math.min(wallMs - offsetBefore, wallMs - offsetAfter) - HOUR_MS;
    let high = Math.max(wallMs - offsetBefore, wallMs - offsetAfter) + HOUR_MS;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (this.wallAt(middle) >= wallMs) high = middle;
      else low = middle;
    }
    return high;
  }
}
