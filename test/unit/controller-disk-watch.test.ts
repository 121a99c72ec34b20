/** The controller's disk watch: free space, the hours it lasts at the last hour's ingest rate, and when it is low. */
import { describe, expect, it } from 'vitest';
import {
  ControllerDiskWatch,
  type DiskReading,
  diskCondition,
  diskSpaceOf,
  HEADROOM_LOW_HOURS,
} from '../../controller/src/modules/health/controller-disk-watch.js';
import { tempDir } from '../support/tmp.js';

const GB = 1e9;
const reading = (free: number, total: number, headroomHours: number): DiskReading => ({
  freeBytes: free,
  totalBytes: total,
  headroomHours,
  bytesPerHour: 0,
});

describe('the controller disk watch', () => {
  it('is low under 24 h of headroom or 5 % free, clear over 36 h and 7 %, and changes nothing between', () => {
    expect(diskCondition(reading(50 * GB, 100 * GB, Number.POSITIVE_INFINITY))).toBe('clear');
    expect(diskCondition(reading(50 * GB, 100 * GB, HEADROOM_LOW_HOURS - 1))).toBe('low');
    expect(diskCondition(reading(4 * GB, 100 * GB, Number.POSITIVE_INFINITY))).toBe('low');
    expect(diskCondition(reading(6 * GB, 100 * GB, Number.POSITIVE_INFINITY))).toBeNull();
    expect(diskCondition(reading(50 * GB, 100 * GB, 30))).toBeNull();
  });

  it('measures the ingest rate over the last hour and reports the headroom it leaves', async () => {
    let nowMs = 0;
    let ingested = 0;
    let free = 100 * GB;
    const gauges: Record<string, number> = {};
    const alerts: ['low' | 'clear', DiskReading][] = [];
    const watch = new ControllerDiskWatch({
      dataDir: '/unused',
      space: async () => ({ freeBytes: free, totalBytes: 200 * GB }),
      ingestedBytes: async () => ingested,
      alerts: { controllerDisk: async (condition, r) => void alerts.push([condition, r]) },
      metrics: {
        controllerDiskFree: {
          set: (v: number) => {
            gauges.free = v;
          },
        },
        controllerDiskHeadroom: {
          set: (v: number) => {
            gauges.headroom = v;
          },
        },
      } as never,
      now: () => new Date(nowMs),
      log: { error() {} } as never,
    });
    await watch.sweep();
    expect(gauges).toEqual({ free: 100 * GB, headroom: Number.POSITIVE_INFINITY });
    expect(alerts.at(-1)?.[0]).toBe('clear');

    // 10 GB in half an hour: 20 GB an hour; 90 GB left lasts 4.5 h.
    nowMs += 1_800_000;
    ingested += 10 * GB;
    free -= 10 * GB;
    await watch.sweep();
    expect(gauges.free).toBe(90 * GB);
    expect(gauges.headroom).toBeCloseTo(4.5 * 3600, 3);
    expect(alerts.at(-1)).toMatchObject(['low', { bytesPerHour: 20 * GB }]);

    // Two quiet hours later the last hour saw nothing arrive: clear again.
    for (let i = 0; i < 4; i++) {
      nowMs += 1_800_000;
      await watch.sweep();
    }
    expect(gauges.headroom).toBe(Number.POSITIVE_INFINITY);
    expect(alerts.at(-1)?.[0]).toBe('clear');
  });

  it('measures a data directory not made yet on the file system it will be on', async () => {
    const dir = await tempDir('disk-watch');
    try {
      const parent = await diskSpaceOf(dir.path);
      const missing = await diskSpaceOf(`${dir.path}/not/made/yet`);
      expect(missing.totalBytes).toBe(parent.totalBytes);
      expect(missing.totalBytes).toBeGreaterThan(0);
      expect(missing.freeBytes).toBeGreaterThan(0);
    } finally {
      await dir.cleanup();
    }
  });
});
