/**
 * Activity heatmap: active time by local weekday × hour in the guild's time zone.
 *
 * Sessions record how much of their span was active, not when the pauses were, so a
 * session's activeMs is spread evenly over [startedAtMs, endedAtMs). Each instant of
 * the span goes to the weekday and hour the local clock reads at that instant, so a
 * session is split at every local hour boundary and at every DST transition (in
 * Berlin's October overlap the hour 02 cell receives two hours; in March no time
 * reaches hour 02).
 */
import type { ZonedTime } from './zoned-time.js';

export interface TimedSession {
  startedAtMs: number;
  endedAtMs: number;
  activeMs: number;
}

/** `cells[weekday][hour]`: weekday 0 = Sunday … 6 = Saturday, hour 0–23, values in active ms. */
export type Heatmap = number[][];

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export function activityHeatmap(sessions: Iterable<TimedSession>, zone: ZonedTime): Heatmap {
  const cells: Heatmap = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
  for (const session of sessions) {
    const spanMs = session.endedAtMs - session.startedAtMs;
    if (spanMs <= 0 || session.activeMs <= 0) continue;
    const activeShare = session.activeMs / spanMs;
    let from = session.startedAtMs;
    while (from < session.endedAtMs) {
      const wall = zone.wallAt(from);
      const offset = wall - from;
      let to = Math.min(session.endedAtMs, from + (HOUR_MS - (((wall % HOUR_MS) + HOUR_MS) % HOUR_MS)));
      if (zone.offsetAt(to - 1) !== offset) to = transitionAfter(zone, from, to - 1, offset);
      const weekday = new Date(wall).getUTCDay();
      const hour = Math.floor((((wall % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS);
      cells[weekday]![hour]! += (to - from) * activeShare;
      from = to;
    }
  }
  return cells;
}

/** The first instant in (from, to] whose offset is no longer `offset`. */
function transitionAfter(zone: ZonedTime, from: number, to: number, offset: number): number {
  let low = from;
  let high = to;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (zone.offsetAt(middle) === offset) low = middle;
    else high = middle;
  }
  return high;
}
