/**
 * Watchdog calibration from live meters (pure): the statistics of a node's meter frames over a
 * window, and the watchdog thresholds they suggest. The noise floor is the 10th percentile of
 * the per-window RMS levels (every channel); silence is proposed a margin below it, so only a
 * level under the room's own floor (a dead input, a pulled cable) counts as silence. Clipping is
 * proposed at twice the rate observed (per the policy's clip window) plus one, so what was normal
 * during calibration does not alert; with no clipping observed the current threshold is kept.
 */
import type { MeterFrame } from '../../../../shared/src/mqtt.js';

export const SILENCE_MARGIN_DB = 6;
const DBFS_FLOOR = -120;

export interface CalibrationStats {
  frames: number;
  channels: number;
  /** Seconds of audio the frames cover (sum of their windows). */
  coveredSeconds: number;
  rmsDbfs: { min: number; p10: number; p50: number; p90: number; max: number };
  peakDbfs: { max: number };
  clips: { total: number; perSecond: number };
}

/** The thresholds calibration sets; the rest of a policy is kept as it is. */
export interface CalibratedFields {
  silenceDbfs: number;
  clipCountPerWindow: number;
  clipWindowSeconds: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Statistics of the frames (at least one). */
export function calibrationStats(frames: readonly MeterFrame[]): CalibrationStats {
  const rms = frames.flatMap((f) => f.channels.map((c) => c.rmsDbfs)).sort((a, b) => a - b);
  const peaks = frames.flatMap((f) => f.channels.map((c) => c.peakDbfs));
  const clips = frames.reduce((sum, f) => sum + f.channels.reduce((s, c) => s + c.clipCount, 0), 0);
  const coveredSeconds = frames.reduce((sum, f) => sum + f.windowMs, 0) / 1000;
  return {
    frames: frames.length,
    channels: Math.max(...frames.map((f) => f.channels.length)),
    coveredSeconds: round1(coveredSeconds),
    rmsDbfs: {
      min: round1(rms[0]!),
      p10: round1(percentile(rms, 10)),
      p50: round1(percentile(rms, 50)),
      p90: round1(percentile(rms, 90)),
      max: round1(rms[rms.length - 1]!),
    },
    peakDbfs: { max: round1(Math.max(...peaks)) },
    clips: { total: clips, perSecond: coveredSeconds > 0 ? round1(clips / coveredSeconds) : 0 },
  };
}

/** The proposed thresholds, and what the operator should know about them. */
export function proposeThresholds(
  stats: CalibrationStats,
  current: CalibratedFields,
): { proposed: CalibratedFields; notes: string[] } {
  const notes: string[] = [];
  const floor = stats.rmsDbfs.p10;
  const silenceDbfs = Math.max(DBFS_FLOOR, Math.min(0, round1(floor - SILENCE_MARGIN_DB)));
  if (floor <= DBFS_FLOOR + SILENCE_MARGIN_DB)
    notes.push(
      `The input was digitally silent (noise floor ${floor} dBFS): is the device connected? ` +
        'A silence level this low only catches a dead input.',
    );
  let clipCountPerWindow = current.clipCountPerWindow;
  if (stats.clips.total === 0) notes.push('No clipping was observed: clipCountPerWindow is kept.');
  else {
    const expected = Math.ceil(stats.clips.perSecond * current.clipWindowSeconds);
    clipCountPerWindow = Math.min(1_000_000, expected * 2 + 1);
    notes.push(
      `${stats.clips.total} clipped samples in ${stats.coveredSeconds} s: the input is too hot; ` +
        'lower its gain, then calibrate again.',
    );
  }
  return { proposed: { ...current, silenceDbfs, clipCountPerWindow }, notes };
}
