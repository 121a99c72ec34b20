import { describe, expect, it } from 'vitest';
import type { AgentHealthEvent } from '../../agent/src/health/condition.js';
import { DEFAULT_WATCHDOG_THRESHOLDS, NO_DATA_MS, Watchdog } from '../../agent/src/health/watchdog.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';

const POLICY = { ...DEFAULT_WATCHDOG_THRESHOLDS, silenceDbfs: -50, silenceSeconds: 2, clipCountPerWindow: 5 };

function watchdog(thresholds = POLICY) {
  const events: AgentHealthEvent[] = [];
  const dog = new Watchdog({ thresholds: () => thresholds, report: (e) => events.push(e) });
  return { dog, events };
}

/** 10 Hz frames from `fromMs` for `ms`, each channel at its level (dBFS) with `clips` clipped samples. */
function frames(dog: Watchdog, fromMs: number, ms: number, levels: number[], clips: number[] = []): number {
  for (let at = fromMs; at < fromMs + ms; at += 100) {
    const frame: MeterFrame = {
      seq: at / 100,
      capturedAtMs: at,
      windowMs: 100,
      sampleRate: 48_000,
      channels: levels.map((rmsDbfs, i) => ({ rmsDbfs, peakDbfs: rmsDbfs + 3, clipCount: clips[i] ?? 0 })),
    };
    dog.meter(frame);
  }
  return fromMs + ms;
}

describe('agent watchdog', () => {
  it('opens silence on the silent channel only after the policy time, and resolves it when the level returns', () => {
    const { dog, events } = watchdog();
    let t = frames(dog, 0, 1900, [-20, -80]);
    expect(events).toEqual([]); // 1.9 s of silence: not yet
    t = frames(dog, t, 300, [-20, -80]);
    expect(events).toHaveLength(1);
    const opened = events[0]!;
    expect(opened).toMatchObject({
      type: 'silence',
      channel: 2,
      state: 'open',
      severity: 'warning',
      firstSeenAtMs: 0,
    });
    expect(opened.values.rmsDbfs).toBe(-80);
    t = frames(dog, t, 5000, [-20, -80]);
    expect(events).toHaveLength(1); // one event however long it lasts
    expect(dog.openEvents()[0]).toMatchObject({ id: opened.id, lastSeenAtMs: t - 100 });
    t = frames(dog, t, 2000, [-20, -20]);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ id: opened.id, state: 'resolved', channel: 2 });
    expect(dog.openEvents()).toEqual([]);
  });

  it('does not flap while the level hovers inside the hysteresis band', () => {
    const { dog, events } = watchdog();
    let t = frames(dog, 0, 3000, [-80]);
    expect(events.map((e) => e.state)).toEqual(['open']);
    // Between -50 and -47 dBFS: neither silent nor clear.
    for (let i = 0; i < 20; i++) t = frames(dog, t, 500, [i % 2 === 0 ? -49 : -48.5]);
    expect(events.map((e) => e.state)).toEqual(['open']);
    frames(dog, t, 1500, [-40]);
    expect(events.map((e) => e.state)).toEqual(['open', 'resolved']);
  });

  it('opens clipping at the count per window and resolves after a window without clips', () => {
    const { dog, events } = watchdog();
    let t = frames(dog, 0, 400, [-10], [1]); // 4 clips
    expect(events).toEqual([]);
    t = frames(dog, t, 100, [-10], [1]); // the 5th within the window
    expect(events[0]).toMatchObject({
      type: 'clipping',
      channel: 1,
      state: 'open',
      values: { clipCount: 5 },
    });
    t = frames(dog, t, 30_000, [-10]);
    expect(events).toHaveLength(1); // the window still holds the clips
    frames(dog, t, 31_000, [-10]);
    expect(events[1]).toMatchObject({ type: 'clipping', state: 'resolved' });
  });

  it('reports a lost device when the capture fails or delivers nothing, and resolves when audio returns', () => {
    const { dog, events } = watchdog();
    let t = frames(dog, 0, 1000, [-20]);
    dog.capture('capturing', t + NO_DATA_MS - 100);
    expect(events).toEqual([]);
    dog.capture('capturing', t + NO_DATA_MS + 100);
    expect(events[0]).toMatchObject({ type: 'device_lost', severity: 'critical', state: 'open' });
    dog.capture('error', t + 8000, 'sox exited: no such device');
    expect(events).toHaveLength(1);
    t = frames(dog, t + 9000, 1100, [-20]);
    expect(events[1]).toMatchObject({ type: 'device_lost', state: 'resolved', id: events[0]!.id });
  });

  it('disk low by free percent or by hours of headroom at the recording rate, with a band before it clears', () => {
    const { dog, events } = watchdog();
    const total = 100e9;
    dog.disk({ freeBytes: 50e9, totalBytes: total, bytesPerHour: 1e9 }, 0); // 50 h headroom
    expect(events).toEqual([]);
    dog.disk({ freeBytes: 20e9, totalBytes: total, bytesPerHour: 1e9 }, 1000); // 20 h < 24 h
    expect(events[0]).toMatchObject({ type: 'disk_low', values: { freePercent: 20, headroomHours: 20 } });
    dog.disk({ freeBytes: 25e9, totalBytes: total, bytesPerHour: 1e9 }, 2000); // 25 h: inside the band
    expect(events).toHaveLength(1);
    dog.disk({ freeBytes: 25e9, totalBytes: total, bytesPerHour: 0 }, 3000); // nothing records: no limit
    expect(events[1]).toMatchObject({ type: 'disk_low', state: 'resolved' });
    dog.disk({ freeBytes: 5e9, totalBytes: total, bytesPerHour: 0 }, 4000); // 5 % < 10 %
    expect(events[2]).toMatchObject({ type: 'disk_low', state: 'open', values: { freePercent: 5 } });
  });

  it('clock skew and upload backlog against the policy', () => {
    const { dog, events } = watchdog();
    dog.clock(1500, 0);
    dog.uploadBacklog(undefined, 0);
    expect(events).toEqual([]);
    dog.clock(-2500, 1000);
    dog.uploadBacklog(61 * 60_000, 1000);
    expect(events.map((e) => [e.type, e.state])).toEqual([
      ['clock_skew', 'open'],
      ['upload_backlog', 'open'],
    ]);
    dog.clock(1800, 2000); // inside the band
    dog.clock(100, 3000);
    dog.uploadBacklog(undefined, 3000);
    expect(events.slice(2).map((e) => [e.type, e.state])).toEqual([
      ['clock_skew', 'resolved'],
      ['upload_backlog', 'resolved'],
    ]);
  });

  it('a capture restart is an info event resolved once the capture has run steadily for a minute', () => {
    const { dog, events } = watchdog();
    dog.captureRestarted(0, 'device-failed');
    expect(events[0]).toMatchObject({ type: 'capture_restart', severity: 'info', state: 'open' });
    const t = frames(dog, 100, 30_000, [-20]);
    dog.capture('capturing', t);
    expect(events).toHaveLength(1);
    frames(dog, t, 31_000, [-20]);
    dog.capture('capturing', t + 31_000);
    expect(events[1]).toMatchObject({ type: 'capture_restart', state: 'resolved' });
  });
});
