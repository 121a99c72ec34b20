import { describe, expect, it } from 'vitest';
import { activityHeatmap } from '../../controller/src/modules/attendance/periods/heatmap.js';
import {
  channelTotals,
  compareSnowflakes,
  rankUsers,
} from '../../controller/src/modules/attendance/periods/leaderboard.js';
import { ZonedTime } from '../../controller/src/modules/attendance/periods/zoned-time.js';

const MIN = 60_000;
const H = 60 * MIN;
const utc = (iso: string) => Date.parse(iso);
const OLD = '999999999999999999'; // 18 digits: numerically smaller than any 19-digit id
const NEW = '1000000000000000010';
const NEWER = '1000000000000000200';

describe('leaderboard', () => {
  const sessions = [
    { userId: NEWER, channelId: 'c2', activeMs: 30 * MIN },
    { userId: NEW, channelId: 'c1', activeMs: 10 * MIN },
    { userId: OLD, channelId: 'c1', activeMs: 20 * MIN },
    { userId: NEW, channelId: 'c2', activeMs: 10 * MIN },
    { userId: 'x', channelId: 'c1', activeMs: 0 },
  ];

  it('ranks members by total active time, ties by smallest Discord id, with unique ranks', () => {
    const expected = [
      { rank: 1, userId: NEWER, activeMs: 30 * MIN, sessions: 1 },
      { rank: 2, userId: OLD, activeMs: 20 * MIN, sessions: 1 },
      { rank: 3, userId: NEW, activeMs: 20 * MIN, sessions: 2 },
      { rank: 4, userId: 'x', activeMs: 0, sessions: 1 },
    ];
    expect(rankUsers(sessions)).toEqual(expected);
    expect(rankUsers([...sessions].reverse())).toEqual(expected);
    expect(rankUsers([])).toEqual([]);
  });

  it('totals channels with their distinct members', () => {
    expect(channelTotals(sessions)).toEqual([
      { channelId: 'c2', activeMs: 40 * MIN, sessions: 2, members: 2 },
      { channelId: 'c1', activeMs: 30 * MIN, sessions: 3, members: 3 },
    ]);
  });

  it('compares snowflakes numerically', () => {
    expect(compareSnowflakes(OLD, NEW)).toBeLessThan(0);
    expect(compareSnowflakes(NEWER, NEW)).toBeGreaterThan(0);
    expect(compareSnowflakes(NEW, NEW)).toBe(0);
  });
});

describe('activity heatmap', () => {
  const cell = (map: number[][], weekday: number, hour: number) => map[weekday]![hour]!;
  const total = (map: number[][]) => map.flat().reduce((a, b) => a + b, 0);

  it('splits a session at local hour boundaries in the guild time zone', () => {
    const berlin = new ZonedTime('Europe/Berlin');
    // Monday 24 March 2025, 10:30–12:15 CET.
    const map = activityHeatmap(
      [
        {
          startedAtMs: utc('2025-03-24T09:30:00Z'),
          endedAtMs: utc('2025-03-24T11:15:00Z'),
          activeMs: 105 * MIN,
        },
      ],
      berlin,
    );
    expect([cell(map, 1, 10), cell(map, 1, 11), cell(map, 1, 12)]).toEqual([30 * MIN, 60 * MIN, 15 * MIN]);
    expect(total(map)).toBe(105 * MIN);
  });

  it('spreads active time evenly over the span and moves to the next weekday at local midnight', () => {
    const newYork = new ZonedTime('America/New_York');
    // Saturday 23:30 → Sunday 00:30 EST, half of it active.
    const map = activityHeatmap(
      [
        {
          startedAtMs: utc('2025-01-05T04:30:00Z'),
          endedAtMs: utc('2025-01-05T05:30:00Z'),
          activeMs: 30 * MIN,
        },
      ],
      newYork,
    );
    expect(cell(map, 6, 23)).toBe(15 * MIN);
    expect(cell(map, 0, 0)).toBe(15 * MIN);
    expect(total(map)).toBe(30 * MIN);
  });

  it('follows half- and quarter-hour offsets', () => {
    const lordHowe = new ZonedTime('Australia/Lord_Howe'); // +10:30 in July
    const july = activityHeatmap(
      [{ startedAtMs: utc('2025-07-01T00:00:00Z'), endedAtMs: utc('2025-07-01T01:00:00Z'), activeMs: H }],
      lordHowe,
    );
    expect([cell(july, 2, 10), cell(july, 2, 11)]).toEqual([30 * MIN, 30 * MIN]);
    const kathmandu = new ZonedTime('Asia/Kathmandu'); // +05:45
    const jan = activityHeatmap(
      [{ startedAtMs: utc('2025-01-01T00:00:00Z'), endedAtMs: utc('2025-01-01T01:00:00Z'), activeMs: H }],
      kathmandu,
    );
    expect([cell(jan, 3, 5), cell(jan, 3, 6)]).toEqual([15 * MIN, 45 * MIN]);
  });

  it('gives a repeated hour both of its hours and a skipped hour none', () => {
    const berlin = new ZonedTime('Europe/Berlin');
    const fallBack = activityHeatmap(
      [{ startedAtMs: utc('2025-10-26T00:00:00Z'), endedAtMs: utc('2025-10-26T02:00:00Z'), activeMs: 2 * H }],
      berlin,
    );
    expect(cell(fallBack, 0, 2)).toBe(2 * H);
    const springForward = activityHeatmap(
      [{ startedAtMs: utc('2025-03-30T00:30:00Z'), endedAtMs: utc('2025-03-30T01:30:00Z'), activeMs: H }],
      berlin,
    );
    expect([cell(springForward, 0, 1), cell(springForward, 0, 2), cell(springForward, 0, 3)]).toEqual([
      30 * MIN,
      0,
      30 * MIN,
    ]);
  });

  it('ignores empty sessions', () => {
    const map = activityHeatmap([{ startedAtMs: 5, endedAtMs: 5, activeMs: 0 }], new ZonedTime('UTC'));
    expect(total(map)).toBe(0);
    expect(map).toHaveLength(7);
    expect(map.every((row) => row.length === 24)).toBe(true);
  });
});
