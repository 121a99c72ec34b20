import { describe, expect, it } from 'vitest';
import { foldPeaks, PeakAccumulator } from '../../controller/src/modules/recordings/peaks.js';

/** Interleaved s16le frames. */
const frames = (rows: number[][]) => {
  const buffer = Buffer.alloc(rows.length * rows[0]!.length * 2);
  for (const [i, v] of rows.flat().entries()) buffer.writeInt16LE(v, i * 2);
  return buffer;
};

describe('waveform peaks', () => {
  const rows = [
    [0, 10],
    [-5, 3],
    [100, -100],
    [7, 8],
    [-32768, 32767],
    [1, 1],
  ];

  it('folds frames into spans: the extremes over every channel', () => {
    const peaks = new PeakAccumulator(6, 2, 3);
    peaks.push(frames(rows));
    expect(peaks.table()).toEqual({ min: [-5, -100, -32768], max: [10, 100, 32767] });
    expect(peaks.frames).toBe(6);
  });

  it('gives the same table whatever the chunks (split samples and frames)', () => {
    const whole = frames(rows);
    for (let cut = 1; cut < whole.length; cut++) {
      const peaks = new PeakAccumulator(6, 2, 3);
      peaks.push(whole.subarray(0, cut));
      peaks.push(whole.subarray(cut, cut + 3));
      peaks.push(whole.subarray(cut + 3));
      expect(peaks.table(), `cut at ${cut}`).toEqual({ min: [-5, -100, -32768], max: [10, 100, 32767] });
    }
  });

  it('puts frames past the expected count in the last span, leaves unreached spans at 0', () => {
    const over = new PeakAccumulator(2, 2, 2);
    over.push(frames(rows));
    expect(over.table()).toEqual({ min: [0, -32768], max: [10, 32767] });
    const under = new PeakAccumulator(60, 2, 3);
    under.push(frames(rows));
    expect(under.table()).toEqual({ min: [-32768, 0, 0], max: [32767, 0, 0] });
  });

  it('folds a table down to fewer points as fractions of full scale, never up', () => {
    const table = { min: [-16384, 0, -32768, -1], max: [16384, 0, 32767, 1] };
    expect(foldPeaks(table, 2)).toEqual({ min: [-0.5, -1], max: [0.5, 1] });
    expect(foldPeaks(table, 3).min).toHaveLength(3);
    expect(foldPeaks(table, 100)).toEqual({
      min: [-0.5, 0, -1, 0],
      max: [0.5, 0, 1, 0],
    });
  });
});
