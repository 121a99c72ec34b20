/**
 * Leaderboard arithmetic over a period's sessions: totals per member, ranked, and
 * totals per channel. Takes anything with the few fields it reads, so completed
 * sessions and live open-session views can be summed together.
 */
export interface SessionTime {
  userId: string;
  channelId: string;
  activeMs: number;
}

export interface UserStanding {
  /** 1-based and unique: ties are broken, never shared (see `rankUsers`). */
  rank: number;
  userId: string;
  activeMs: number;
  sessions: number;
}

export interface ChannelTotal {
  channelId: string;
  activeMs: number;
  sessions: number;
  /** Distinct members with a session in the channel. */
  members: number;
}

/**
 * Members by total activeMs, highest first. Equal totals are ordered by Discord id,
 * oldest account (smallest snowflake) first, so the order never depends on input order.
 */
export function rankUsers(sessions: Iterable<SessionTime>): UserStanding[] {
  const totals = new Map<string, { activeMs: number; sessions: number }>();
  for (const session of sessions) {
    const total = totals.get(session.userId);
    if (total) {
      total.activeMs += session.activeMs;
      total.sessions++;
    } else totals.set(session.userId, { activeMs: session.activeMs, sessions: 1 });
  }
  return [...totals]
    .sort(([userA, a], [userB, b]) => b.activeMs - a.activeMs || compareSnowflakes(userA, userB))
    .map(([userId, total], position) => ({ rank: position + 1, userId, ...total }));
}

/** Channels by total activeMs, highest first; equal totals by channel id. */
export function channelTotals(sessions: Iterable<SessionTime>): ChannelTotal[] {
  const totals = new Map<string, { activeMs: number; sessions: number; users: Set<string> }>();
  for (const session of sessions) {
    let total = totals.get(session.channelId);
    if (!total) {
      total = { activeMs: 0, sessions: 0, users: new Set() };
      totals.set(session.channelId, total);
    }
    total.activeMs += session.activeMs;
    total.sessions++;
    total.users.add(session.userId);
  }
  return [...totals]
    .sort(([channelA, a], [channelB, b]) => b.activeMs - a.activeMs || compareSnowflakes(channelA, channelB))
    .map(([channelId, total]) => ({
      channelId,
      activeMs: total.activeMs,
      sessions: total.sessions,
      members: total.users.size,
    }));
}

/** Numeric order of decimal snowflake strings (too large for a double), without BigInt. */
export function compareSnowflakes(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
