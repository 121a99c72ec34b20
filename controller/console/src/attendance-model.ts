/**
 * The attendance page's pure parts: its state in the URL (guild, period, member), a
 * leaderboard from the current period or an archived snapshot, and durations for people.
 */

/** `current`, or an archived period's index. */
export type Period = 'current' | number;

export interface AttendanceView {
  guild: string | undefined;
  period: Period;
  member: string | undefined;
}

/** Discord ids (snowflakes): decimal strings of 5 to 20 digits. */
const SNOWFLAKE = /^[1-9][0-9]{4,19}$/;

export function periodFrom(value: string | null): Period {
  if (value === null || !/^(0|[1-9][0-9]{0,9})$/.test(value)) return 'current';
  const index = Number(value);
  return index <= 2_147_483_647 ? index : 'current';
}

export function attendanceViewFrom(search: string): AttendanceView {
  const params = new URLSearchParams(search);
  const guild = params.get('guild') ?? '';
  const member = params.get('member') ?? '';
  return {
    guild: SNOWFLAKE.test(guild) ? guild : undefined,
    period: periodFrom(params.get('period')),
    member: SNOWFLAKE.test(member) ? member : undefined,
  };
}

/** The URL query of a view: the current period is the default, left out. */
export function attendanceSearch(view: Partial<AttendanceView>): string {
  const params = new URLSearchParams();
  if (view.guild) params.set('guild', view.guild);
  if (view.period !== undefined && view.period !== 'current') params.set('period', String(view.period));
  if (view.member) params.set('member', view.member);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export interface BoardEntry {
  rank: number;
  userId: string;
  /** The member's name as the bot last saw it (null: never seen with one; the id is shown). */
  name: string | null;
  activeSeconds: number;
  /** Known for the current period only (a snapshot keeps ranks and times). */
  sessions: number | null;
}

/** The current period's leaderboard (`GET /guilds/:id/leaderboard`). */
export function currentBoard(
  entries: readonly {
    rank: number;
    user_id: string;
    display_name?: string | null;
    active_seconds: number;
    sessions: number;
  }[],
): BoardEntry[] {
  return entries
    .map((e) => ({
      rank: e.rank,
      userId: e.user_id,
      name: e.display_name ?? null,
      activeSeconds: e.active_seconds,
      sessions: e.sessions,
    }))
    .sort((a, b) => a.rank - b.rank);
}

/** An archived period's leaderboard, from its snapshot (what was signed); empty when it has none. */
export function snapshotBoard(snapshot: unknown): BoardEntry[] {
  const board = (snapshot as { leaderboard?: unknown } | null)?.leaderboard;
  if (!Array.isArray(board)) return [];
  return board
    .filter(
      (e): e is { rank: number; user_id: string; active_seconds: number } =>
        typeof e === 'object' &&
        e !== null &&
        typeof e.rank === 'number' &&
        typeof e.user_id === 'string' &&
        typeof e.active_seconds === 'number',
    )
    .map((e) => ({
      rank: e.rank,
      userId: e.user_id,
      name: null,
      activeSeconds: e.active_seconds,
      sessions: null,
    }))
    .sort((a, b) => a.rank - b.rank);
}

/** At most this many ids in one `GET /guilds/:id/members?user_ids=` (the route's bound). */
export const MEMBER_IDS_PER_ASK = 100;

/** The board with the names found (`names`: id → name) on the entries that have none. */
export function withNames(board: readonly BoardEntry[], names: ReadonlyMap<string, string>): BoardEntry[] {
  return board.map((entry) => ({ ...entry, name: entry.name ?? names.get(entry.userId) ?? null }));
}

/** The ids of `board` in groups of MEMBER_IDS_PER_ASK, for asking their names. */
export function nameAsks(board: readonly BoardEntry[]): string[][] {
  const ids = board.map((entry) => entry.userId);
  const asks: string[][] = [];
  for (let i = 0; i < ids.length; i += MEMBER_IDS_PER_ASK) asks.push(ids.slice(i, i + MEMBER_IDS_PER_ASK));
  return asks;
}

/** `3725` s → `1 h 02 min`; under a minute in seconds. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
}
