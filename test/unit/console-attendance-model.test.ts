/** The attendance page's model: period ↔ URL, leaderboards from the API and from snapshots, durations. */
import { describe, expect, it } from 'vitest';
import {
  attendanceSearch,
  attendanceViewFrom,
  currentBoard,
  duration,
  MEMBER_IDS_PER_ASK,
  nameAsks,
  periodFrom,
  snapshotBoard,
  withNames,
} from '../../controller/console/src/attendance-model.js';

const GUILD = '110000000000000001';
const ALICE = '310000000000000001';

describe('the attendance URL', () => {
  it('round-trips guild, an archived period and a member', () => {
    const view = { guild: GUILD, period: 3, member: ALICE };
    expect(attendanceSearch(view)).toBe(`?guild=${GUILD}&period=3&member=${ALICE}`);
    expect(attendanceViewFrom(attendanceSearch(view))).toEqual(view);
  });

  it('leaves the current period out of the URL, and reads its absence as current', () => {
    expect(attendanceSearch({ guild: GUILD, period: 'current' })).toBe(`?guild=${GUILD}`);
    expect(attendanceViewFrom(`?guild=${GUILD}`).period).toBe('current');
    expect(attendanceSearch({})).toBe('');
  });

  it('reads period 0, and anything that is not a period index as current', () => {
    expect(periodFrom('0')).toBe(0);
    for (const text of [null, '', '-1', '01', '1.5', 'x', '99999999999'])
      expect(periodFrom(text)).toBe('current');
  });

  it('drops a guild or member that is not a Discord id', () => {
    expect(attendanceViewFrom('?guild=abc&member=12')).toEqual({
      guild: undefined,
      period: 'current',
      member: undefined,
    });
  });
});

describe('leaderboards', () => {
  it('takes the current period’s entries by rank, with sessions', () => {
    expect(
      currentBoard([
        { rank: 2, user_id: 'b', display_name: null, active_seconds: 60, sessions: 1 },
        { rank: 1, user_id: 'a', display_name: 'Ada', active_seconds: 120, sessions: 3 },
      ]),
    ).toEqual([
      { rank: 1, userId: 'a', name: 'Ada', activeSeconds: 120, sessions: 3 },
      { rank: 2, userId: 'b', name: null, activeSeconds: 60, sessions: 1 },
    ]);
  });

  it('takes an archived snapshot’s leaderboard (no sessions), skipping malformed entries', () => {
    const snapshot = {
      leaderboard: [
        { rank: 2, user_id: 'b', active_seconds: 30 },
        { rank: 1, user_id: 'a', active_seconds: 90 },
        { rank: 'x', user_id: 'c' },
        null,
      ],
    };
    expect(snapshotBoard(snapshot)).toEqual([
      { rank: 1, userId: 'a', name: null, activeSeconds: 90, sessions: null },
      { rank: 2, userId: 'b', name: null, activeSeconds: 30, sessions: null },
    ]);
    expect(snapshotBoard(null)).toEqual([]);
    expect(snapshotBoard({ leaderboard: 'no' })).toEqual([]);
  });

  it('names an archived board’s members from the names asked for, in asks the route allows', () => {
    const board = snapshotBoard({
      leaderboard: Array.from({ length: MEMBER_IDS_PER_ASK + 1 }, (_, i) => ({
        rank: i + 1,
        user_id: `u${i}`,
        active_seconds: 1000 - i,
      })),
    });
    const asks = nameAsks(board);
    expect(asks.map((ids) => ids.length)).toEqual([MEMBER_IDS_PER_ASK, 1]);
    expect(asks.flat()).toEqual(board.map((e) => e.userId));
    const named = withNames(board, new Map([['u1', 'Bea']]));
    expect(named.slice(0, 3).map((e) => e.name)).toEqual([null, 'Bea', null]);
    // A name the entry already has is kept.
    expect(withNames([{ ...board[0]!, name: 'Ada' }], new Map([['u0', 'Other']]))[0]!.name).toBe('Ada');
  });
});

describe('duration', () => {
  it('reads seconds, minutes and hours', () => {
    expect(duration(42)).toBe('42 s');
    expect(duration(125)).toBe('2 min');
    expect(duration(3725)).toBe('1 h 02 min');
    expect(duration(-5)).toBe('0 s');
  });
});
