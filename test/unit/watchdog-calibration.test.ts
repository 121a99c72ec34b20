// Watchdog calibration from meter frames (controller/src/modules/meters/calibration.ts): the
// statistics, the noise-floor silence level and the clip threshold it proposes.
import { describe, expect, it } from 'vitest';
import {
  calibrationStats,
  percentile,
  proposeThresholds,
} from '../../controller/src/modules/meters/calibration.js';
import type { MeterFrame } from '../../shared/src/mqtt.js';

const frame = (rms: number[], clips = 0, seq = 0): MeterFrame => ({
  seq,
  capturedAtMs: 1_000 + seq * 100,
  windowMs: 100,
  sampleRate: 48_000,
  channels: rms.map((r, i) => ({ rmsDbfs: r, peakDbfs: r + 3, clipCount: i === 0 ? clips : 0 })),
});
const POLICY = { silenceDbfs: -60, clipCountPerWindow: 10, clipWindowSeconds: 60 };

describe('watchdog calibration', () => {
  it('takes nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 10)).toBe(1);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([7], 90)).toBe(7);
  });

  it('proposes silence a margin below the noise floor, keeping the clip threshold without clipping', () => {
    // Ten seconds: a -50 dBFS room with speech at -20 dBFS in a fifth of the windows.
    const frames = Array.from({ length: 100 }, (_, i) => frame(i % 5 === 0 ? [-20, -22] : [-50, -51], 0, i));
    const stats = calibrationStats(frames);
    expect(stats).toMatchObject({
      frames: 100,
      channels: 2,
      coveredSeconds: 10,
      rmsDbfs: { min: -51, p10: -51, p50: -50, max: -20 },
      peakDbfs: { max: -17 },
      clips: { total: 0, perSecond: 0 },
    });
    const { proposed, notes } = proposeThresholds(stats, POLICY);
    expect(proposed).toEqual({ silenceDbfs: -57, clipCountPerWindow: 10, clipWindowSeconds: 60 });
    expect(notes).toEqual(['No clipping was observed: clipCountPerWindow is kept.']);
  });

  it('proposes twice the observed clipping per clip window, plus one', () => {
    // 2 clipped samples a second over 10 s: 120 per 60 s window expected.
    const frames = Array.from({ length: 100 }, (_, i) => frame([-12, -12], i % 5 === 0 ? 1 : 0, i));
    const { proposed, notes } = proposeThresholds(calibrationStats(frames), POLICY);
    expect(proposed.clipCountPerWindow).toBe(241);
    expect(notes[0]).toMatch(/20 clipped samples in 10 s/);
  });

  it('says so when the input was digitally silent', () => {
    const frames = Array.from({ length: 10 }, (_, i) => frame([-120], 0, i));
    const { proposed, notes } = proposeThresholds(calibrationStats(frames), POLICY);
    expect(proposed.silenceDbfs).toBe(-120);
    expect(notes[0]).toMatch(/digitally silent/);
  });
});
