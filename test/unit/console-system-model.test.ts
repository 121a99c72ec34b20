/** The system page's model: health history shaped for the chart, the page's URL, readable uptime. */
import { describe, expect, it } from 'vitest';
import {
  type HealthSample,
  historySeries,
  logsChange,
  systemSearch,
  systemViewFrom,
  uptime,
} from '../../controller/console/src/system-model.js';

const sample = (minute: string, online: number, latencyMs: number | null = 2): HealthSample => ({
  minute,
  nodes: { total: 3, online },
  controller: { database: { latencyMs }, disk: { freeBytes: 250, totalBytes: 1000 } },
});
const s = (iso: string) => Date.parse(iso) / 1000;

describe('historySeries', () => {
  it('gives columns oldest first, x in seconds, whatever order the samples came in', () => {
    const series = historySeries([
      sample('2026-01-01T10:01:00Z', 2),
      sample('2026-01-01T10:00:00Z', 1, null),
    ]);
    expect(series).toEqual({
      x: [s('2026-01-01T10:00:00Z'), s('2026-01-01T10:01:00Z')],
      online: [1, 2],
      total: [3, 3],
      latencyMs: [null, 2],
      diskUsedPercent: [75, 75],
    });
  });

  it('breaks the line where minutes are missing (one empty point) and keeps the first of a duplicate minute', () => {
    const series = historySeries([
      sample('2026-01-01T10:00:00Z', 1),
      sample('2026-01-01T10:00:00Z', 9),
      sample('2026-01-01T10:05:00Z', 2),
    ]);
    expect(series.x).toEqual([
      s('2026-01-01T10:00:00Z'),
      s('2026-01-01T10:01:00Z'),
      s('2026-01-01T10:05:00Z'),
    ]);
    expect(series.online).toEqual([1, null, 2]);
    expect(series.total).toEqual([3, null, 3]);
  });

  it('has no points without samples, and no disk figure without a disk reading', () => {
    expect(historySeries([]).x).toEqual([]);
    const noDisk = {
      ...sample('2026-01-01T10:00:00Z', 1),
      controller: { database: { latencyMs: 1 }, disk: null },
    };
    expect(historySeries([noDisk]).diskUsedPercent).toEqual([null]);
  });
});

describe('the system URL', () => {
  it('round-trips range, kind and cursor; the default range is left out', () => {
    const view = { range: 24 as const, kind: 'settings.changed' as const, cursor: 'abc' };
    expect(systemViewFrom(systemSearch(view))).toEqual(view);
    expect(systemSearch({ range: 6 })).toBe('');
  });

  it('falls back to 6 h and no kind for what it does not know', () => {
    expect(systemViewFrom('?range=5&kind=nope')).toEqual({ range: 6, kind: undefined, cursor: undefined });
  });
});

describe('logsChange', () => {
  it('finds the log entry of one settings change by object and revision', () => {
    const events = [
      { kind: 'demo.seeded', data: { id: 'a', revision: 2 } },
      { kind: 'settings.changed', data: { id: 'a', revision: 1 } },
    ];
    expect(logsChange(events, { id: 'a', revision: 1 })).toBe(true);
    expect(logsChange(events, { id: 'a', revision: 2 })).toBe(false);
    expect(logsChange([], { id: 'a', revision: 1 })).toBe(false);
  });
});

describe('uptime', () => {
  it('reads in days, hours and minutes', () => {
    expect(uptime(42)).toBe('42 s');
    expect(uptime(3600)).toBe('1 h 0 min');
    expect(uptime(90_061)).toBe('1 d 1 h 1 min');
  });
});
